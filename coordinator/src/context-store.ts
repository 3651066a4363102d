import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { posix } from 'node:path';
import { Parser as TarParser } from 'tar';
import { InvalidInputError } from '@archfarm/common';
import { ContextDigestMismatchError, ContextNotFoundError, ContextTooLargeError } from './errors';
import { scanContext } from './security/context-scan';

const DIGEST = /^sha256:([a-f0-9]{64})$/;
/** readFile's default and the most it keeps of a file in memory. */
const FILE_MAX_BYTES = 1024 * 1024;
/** Files of contexts kept in memory (Dockerfiles, mostly). */
const FILE_CACHE_ENTRIES = 64;

/**
 * Build contexts on disk, content-addressed by the sha256 of their tar: a context is
 * uploaded once and every agent fetches it by digest. Only safe tars are kept (no absolute
 * paths, `..`, devices or links out of the context). A blob appears under its name only
 * after its bytes were verified (written to a temporary name, then renamed), so a broken
 * upload never leaves a blob that looks complete.
 */
export class ContextStore {
  /** Digests known to be stored: a stored context is never changed, and removed only by remove(). */
  private readonly present = new Set<string>();
  /**
   * Files read out of contexts, by digest and path, oldest first. Every build reads its
   * Dockerfile twice (does it exist, does it cross-compile), and a farm under load builds
   * the same context many times at once: one tar scan serves them all.
   */
  private readonly files = new Map<string, Promise<Buffer | undefined>>();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
  }

  async has(digest: string): Promise<boolean> {
    if (this.present.has(digest)) return true;
    try {
      const found = (await stat(this.pathOf(digest))).isFile();
      if (found) this.present.add(digest);
      return found;
    } catch {
      return false;
    }
  }

  /** Opens a stored context; throws ContextNotFoundError when it is not there. */
  async open(digest: string): Promise<Readable> {
    if (!(await this.has(digest))) throw new ContextNotFoundError(digest);
    return createReadStream(this.pathOf(digest), { highWaterMark: 256 * 1024 });
  }

  /**
   * One file of a stored context (e.g. the Dockerfile, to plan placement), at most
   * `maxBytes` (at most 1 MiB); undefined when the context has no such file.
   */
  async readFile(digest: string, path: string, maxBytes = FILE_MAX_BYTES): Promise<Buffer | undefined> {
    const wanted = posix.normalize(path);
    const key = `${digest}\u0000${wanted}`;
    let read = this.files.get(key);
    if (read) {
      this.files.delete(key); // to the young end
    } else {
      read = this.scanFor(digest, wanted);
      // A failed read is not remembered: the next call tries again.
      const mine = read;
      read.catch(() => this.files.get(key) === mine && this.files.delete(key));
    }
    this.files.set(key, read);
    while (this.files.size > FILE_CACHE_ENTRIES) this.files.delete(this.files.keys().next().value!);
    const file = await read;
    // A copy: callers must not be able to change what the next one reads.
    return file && Buffer.from(file.subarray(0, maxBytes));
  }

  /** The first FILE_MAX_BYTES of the file at `wanted`, by reading the context's tar. */
  private async scanFor(digest: string, wanted: string): Promise<Buffer | undefined> {
    const maxBytes = FILE_MAX_BYTES;
    let found: Buffer | undefined;
    await pipeline(
      await this.open(digest),
      new TarParser({
        filter: (p) => posix.normalize(p) === wanted,
        onReadEntry: (entry) => {
          const parts: Buffer[] = [];
          let size = 0;
          entry.on('data', (d: Buffer) => {
            if (size < maxBytes) parts.push(d.subarray(0, maxBytes - size));
            size += d.length;
          });
          entry.on('end', () => (found = Buffer.concat(parts)));
        },
      }),
    );
    return found;
  }

  /** Stores the bytes of `chunks` under `digest` after checking size and hash. */
  async write(digest: string, size: number, chunks: AsyncIterable<Buffer>): Promise<void> {
    this.pathOf(digest);
    if (size > this.maxBytes) throw new ContextTooLargeError(size, this.maxBytes);
    const tmp = join(this.dir, 'tmp', randomBytes(8).toString('hex'));
    const out = createWriteStream(tmp);
    const hash = createHash('sha256');
    let written = 0;
    try {
      for await (const chunk of chunks) {
        written += chunk.length;
        if (written > this.maxBytes) throw new ContextTooLargeError(written, this.maxBytes);
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await finished(out);
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) throw new ContextDigestMismatchError(digest, actual);
      if (written !== size) throw new InvalidInputError('size', `header said ${size} bytes, ${written} arrived`);
      // Checked before it gets its name: an unsafe context is never stored, so never served.
      await scanContext(tmp, { maxFileBytes: this.maxBytes, maxTotalBytes: this.maxBytes });
      await rename(tmp, this.pathOf(digest));
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Every stored context with its size and when it was stored (for the pruner). */
  async list(): Promise<Array<{ digest: string; bytes: number; storedMs: number }>> {
    const out: Array<{ digest: string; bytes: number; storedMs: number }> = [];
    for (const hex of await readdir(join(this.dir, 'sha256'))) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const s = await stat(join(this.dir, 'sha256', hex)).catch(() => undefined);
      if (s?.isFile()) out.push({ digest: `sha256:${hex}`, bytes: s.size, storedMs: s.mtimeMs });
    }
    return out;
  }

  /** Removes a stored context (the pruner's call, for one no unfinished build uses). */
  async remove(digest: string): Promise<void> {
    this.present.delete(digest);
    for (const key of [...this.files.keys()]) if (key.startsWith(`${digest}\u0000`)) this.files.delete(key);
    await rm(this.pathOf(digest), { force: true });
  }

  private pathOf(digest: string): string {
    const hex = DIGEST.exec(digest)?.[1];
    if (hex === undefined) throw new InvalidInputError('digest', `"${digest}" is not sha256:<64 hex>`);
    return join(this.dir, 'sha256', hex);
  }
}
