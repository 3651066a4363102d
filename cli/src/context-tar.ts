import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Pack } from 'tar';
import { listContext, loadIgnoreRules } from './context-walk';

/** A packed build context on disk, named by the sha256 of its bytes. */
export interface ContextTar {
  file: string;
  /** "sha256:<hex>" of the whole tar: the context's identity on the coordinator. */
  digest: string;
  size: number;
  /** Number of tar entries (directories, files, links). */
  entries: number;
  /** Deletes the temporary file. */
  dispose(): Promise<void>;
}

export interface PackOptions {
  contextDir: string;
  dockerfile: { absolute: string; inContext: string };
  signal?: AbortSignal;
  /** Where the temporary directory goes; the OS temp dir by default. */
  tmpRoot?: string;
}

/**
 * Packs the context into a temporary tar, hashing it in the same pass. The tar is
 * deterministic for a given tree: sorted entries, and node-tar's `portable` mode drops
 * owner, atime/ctime and directory mtimes. File mtimes, modes and symlinks are kept, as
 * `docker build` keeps them. Whatever .dockerignore excludes is left out.
 */
export async function packContext(opts: PackOptions): Promise<ContextTar> {
  const rules = await loadIgnoreRules(opts.contextDir, opts.dockerfile.absolute);
  const paths = await listContext(opts.contextDir, rules, [opts.dockerfile.inContext, '.dockerignore']);
  const dir = await mkdtemp(path.join(opts.tmpRoot ?? tmpdir(), 'archfarm-context-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, 'context.tar');
    const { digest, size } = await writeTar(opts.contextDir, paths, file, opts.signal);
    return { file, digest, size, entries: paths.length, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function writeTar(cwd: string, paths: readonly string[], file: string, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
  // noDirRecurse: we list every entry ourselves, so the ignore rules and order hold.
  // strict: a file that vanishes or cannot be read fails the build instead of a silent gap.
  // Pack.add, not tar.c: c() reads a path starting with '@' as "append that archive".
  const pack = new Pack({ cwd, portable: true, noDirRecurse: true, strict: true });
  for (const p of paths) pack.add(p);
  pack.end();
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    pack,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
    { signal },
  );
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
