import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { list, x, type ReadEntry } from 'tar';
import { ContextUnreadableError } from '../errors';

/** What kind of tree entry; the file sync protocol sends nothing else. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

/** One entry of a build context, as its tar header says (never as a disk says). */
export interface ContextEntry {
  /** Relative, "/"-separated, no leading "./" or "/". */
  path: string;
  kind: EntryKind;
  /** Unix permission bits with setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, as the tar header has it. */
  mtime: number;
  /** Symlink target, or the path a hard link points at. */
  linkname: string;
}

/**
 * A build context as a tree of files, for BuildKit's file sync. Metadata comes from the tar
 * headers, so two agents serve byte-identical stats for the same context (a disk's own
 * directory mtimes and umask would differ), which reproducible images need.
 */
export interface ContextTree {
  /** Every entry, parents before children; directories a tar only implies are added. */
  readonly entries: readonly ContextEntry[];
  /** The bytes of a regular file of `entries`. */
  open(path: string): Readable;
}

/** A few generated files held in memory (the probe's context). */
export function memoryTree(files: ReadonlyArray<{ path: string; data: Buffer | string; mode?: number }>): ContextTree {
  const data = new Map<string, Buffer>();
  const entries: ContextEntry[] = [];
  for (const f of files) {
    const bytes = typeof f.data === 'string' ? Buffer.from(f.data) : f.data;
    data.set(f.path, bytes);
    entries.push({ path: f.path, kind: 'file', mode: f.mode ?? 0o644, uid: 0, gid: 0, size: bytes.length, mtime: 0, linkname: '' });
  }
  return {
    entries: withParents(entries),
    open: (path) => Readable.from([data.get(path) ?? Buffer.alloc(0)]),
  };
}

/**
 * The context tar unpacked next to itself (`<tar>.d`, once per context: every platform job of a
 * build shares it) and indexed from its headers. The tar comes from a user: node-tar refuses
 * absolute paths, `..` and writing through symlinks; devices and fifos are not unpacked; and
 * {@link ContextTree.open} reads only paths that really lie inside the directory.
 */
export async function unpackedTree(tarPath: string): Promise<ContextTree> {
  const entries: ContextEntry[] = [];
  await list({ file: tarPath, onReadEntry: (e: ReadEntry) => addEntry(entries, e) });
  const root = await unpacked(tarPath);
  const realRoot = await realpath(root);
  return {
    entries: withParents(entries),
    open: (path) => Readable.from(readInside(realRoot, path)),
  };
}

async function* readInside(root: string, path: string): AsyncGenerator<Buffer> {
  const real = await realpath(join(root, path)).catch((err: unknown) => {
    throw new ContextUnreadableError(path, 'it is not in the unpacked context', { cause: err });
  });
  if (!real.startsWith(root + sep)) throw new ContextUnreadableError(path, 'it leads out of the context through a symlink');
  for await (const chunk of createReadStream(real, { highWaterMark: 32 * 1024 })) yield chunk as Buffer;
}

const KINDS: Partial<Record<string, EntryKind>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

function addEntry(entries: ContextEntry[], e: ReadEntry): void {
  const kind = KINDS[e.type];
  const path = normalise(e.path);
  if (kind === undefined || path === '') return;
  entries.push({
    path,
    kind,
    mode: (e.mode ?? (kind === 'dir' ? 0o755 : 0o644)) & 0o7777,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    size: kind === 'file' ? e.size : 0,
    mtime: e.mtime ? Math.floor(e.mtime.getTime() / 1000) : 0,
    linkname: kind === 'hardlink' ? normalise(e.linkpath ?? '') : (e.linkpath ?? ''),
  });
}

function normalise(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** Adds the directories a tar names only through their files, and drops repeats (the last wins, as in tar). */
function withParents(entries: ContextEntry[]): ContextEntry[] {
  const byPath = new Map<string, ContextEntry>();
  for (const e of entries) {
    for (let i = e.path.indexOf('/'); i !== -1; i = e.path.indexOf('/', i + 1)) {
      const parent = e.path.slice(0, i);
      if (!byPath.has(parent)) byPath.set(parent, { path: parent, kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '' });
    }
    byPath.set(e.path, e);
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * The order of a depth-first walk with each directory's names sorted by their bytes, which is
 * the order fsutil's receiver checks ("a", "a/b", "a-b": not plain string order, where "a-b"
 * comes before "a/b").
 */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

async function unpacked(tarPath: string): Promise<string> {
  const dir = `${tarPath}.d`;
  if (await isDir(dir)) return dir;
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.part-`);
  try {
    await x({
      file: tarPath,
      cwd: tmp,
      strict: false,
      noChmod: true, // modes come from the headers; on disk every file must stay readable by the agent
      preserveOwner: false,
      filter: (_path, entry) => 'type' in entry && KINDS[entry.type] !== undefined,
    });
    await rename(tmp, dir).catch(async (err: unknown) => {
      // Another job of the same context unpacked it first: use theirs.
      if (!(await isDir(dir))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
