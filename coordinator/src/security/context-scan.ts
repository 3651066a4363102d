import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { posix, win32 } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { ArchfarmError } from '@archfarm/common';

/** A build context holds an entry that must not reach an agent; `entry` is its path in the tar. */
export class UnsafeContextError extends ArchfarmError {
  readonly code = 'UNSAFE_CONTEXT';
  readonly kind = 'input';
  constructor(
    readonly entry: string,
    message: string,
  ) {
    super(message);
  }
}

/** An uploaded context is not a whole, plain tar archive (garbage, compressed or truncated). */
export class TarInvalidError extends ArchfarmError {
  readonly code = 'CONTEXT_NOT_A_TAR';
  readonly kind = 'input';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the build context is not a complete tar archive (${reason}); upload it again with the archfarm CLI`, options);
  }
}

export interface ScanOptions {
  /** Most entries (files, directories, links); default 100 000. */
  maxEntries?: number;
  /** Largest single entry, in bytes; default 1 GiB. */
  maxFileBytes?: number;
  /** Most bytes of content over all entries; default unlimited (the upload cap applies). */
  maxTotalBytes?: number;
}

export interface ContextScan {
  entries: number;
  /** Content bytes over all entries (headers and padding not counted). */
  bytes: number;
  /** Normalised paths ("a/b", no "./") of every non-directory entry, e.g. to check the Dockerfile is there. */
  files: string[];
}

const IGNORE = 'remove it or add it to .dockerignore';
const REPACK = "pack the context with 'archfarm build', which writes only plain relative entries";
const MAX_NAME_BYTES = 4096; // PATH_MAX: a longer name could not be extracted anyway
const MAX_LINK_HOPS = 40; // the kernel's MAXSYMLINKS
const WALK_BUDGET = 50_000_000; // ~0.1 s of lookups; ordinary contexts use a few percent
const ACCEPTED = new Set<string>(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
const SPECIAL: Record<string, string> = { CharacterDevice: 'a character device', BlockDevice: 'a block device', FIFO: 'a named pipe (FIFO)' };
const COMPRESSED: [string, Buffer][] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];

/**
 * Reads a context tar and refuses, with UnsafeContextError, anything an agent should not
 * extract: absolute or escaping paths, devices and FIFOs, links that resolve outside the
 * context (also through other symlinks, in archive order and in the final tree), oversize
 * entries and too many of them. A file that is not a whole plain tar gives TarInvalidError.
 */
export async function scanContext(tarPath: string, opts: ScanOptions = {}): Promise<ContextScan> {
  const tree = new ContextTree({
    maxEntries: opts.maxEntries ?? 100_000,
    maxFileBytes: opts.maxFileBytes ?? 1024 ** 3,
    maxTotalBytes: opts.maxTotalBytes ?? Number.POSITIVE_INFINITY,
  });
  // Parser reports each header's path and linkpath as written: node-tar's sanitising
  // (preservePaths) belongs to extraction. strict turns every warning into 'error'.
  // Compressed input is refused below, so no decompressor ever runs.
  const parser = new Parser({ strict: true, brotli: false, zstd: false });
  let failure: Error | undefined;
  let sawEndMarker = false;
  const guard = (check: () => void) => {
    try {
      if (failure === undefined) check();
    } catch (err) {
      failure = err as Error;
    }
  };
  parser.on('entry', (entry: ReadEntry) => {
    entry.resume(); // the body is not needed; this discards it
    guard(() => tree.add(entry));
  });
  // Unknown types, and pax headers too big for node-tar to apply (other readers would).
  parser.on('ignoredEntry', (entry: ReadEntry) => guard(() => refuseType(entry)));
  parser.on('eof', () => (sawEndMarker = true));
  const parsed = new Promise<void>((resolve) => {
    parser.on('end', resolve);
    parser.on('error', (err: Error) => {
      failure ??= new TarInvalidError(err.message, { cause: err });
      resolve();
    });
  });
  let first = true;
  for await (const chunk of createReadStream(tarPath) as AsyncIterable<Buffer>) {
    if (first) refuseCompressed(chunk);
    first = false;
    if (!parser.write(chunk) && failure === undefined) await once(parser, 'drain').catch(() => undefined);
    if (failure !== undefined) throw failure;
  }
  parser.end();
  await parsed;
  if (failure !== undefined) throw failure;
  if (!sawEndMarker) throw new TarInvalidError('it ends before the end-of-archive marker, so it was cut short');
  return tree.finish();
}

interface Link {
  entry: string;
  target: string;
}
type Walk = string[] | 'escapes' | 'loop' | 'tangled';

/** The tree the context would extract to, as far as the safety checks need it. */
class ContextTree {
  private entries = 0;
  private bytes = 0;
  /** Symlinks by where they land once the links before them are followed. */
  private readonly links = new Map<string, Link>();
  /** Where each directory lands; cleared when the links change. */
  private readonly dirs = new Map<string, string[]>();
  /** Normalised path -> is a directory; the last entry for a path wins, as in extraction. */
  private readonly kinds = new Map<string, boolean>();
  /** Characters of path looked up while following links, so a crafted tangle cannot stall us. */
  private budget = WALK_BUDGET;

  constructor(private readonly limits: Required<ScanOptions>) {}

  add(entry: ReadEntry): void {
    const name = entry.path;
    if (++this.entries > this.limits.maxEntries) {
      throw new UnsafeContextError(name, `the context has more than ${this.limits.maxEntries} entries (at ${show(name)}); add what the build does not need (node_modules, .git) to .dockerignore`);
    }
    checkName(name, name);
    if (isAbsolute(name)) throw refuse(name, 'has an absolute path', REPACK);
    const lexical = this.walk([], name, false);
    if (!Array.isArray(lexical)) throw refuse(name, 'leaves the context', IGNORE);
    if (!ACCEPTED.has(entry.type)) refuseType(entry);
    this.count(name, entry.size);
    const base = lexical.pop();
    if (base === undefined) {
      if (entry.type !== 'Directory') throw refuse(name, 'names the context root but is not a directory', REPACK);
      return;
    }
    const parent = this.dir(lexical.join('/'));
    if (!Array.isArray(parent)) throw linkError(name, parent, 'is reached through a symlink that leaves the context');
    let target = entry.type === 'SymbolicLink' ? (entry.linkpath ?? '') : undefined;
    if (entry.type === 'Link') target = this.hardLinkTarget(name, entry.linkpath ?? '');
    if (target !== undefined) this.checkSymlink(name, lexical, parent, target);
    const landing = [...parent, base].join('/');
    if (target !== undefined) this.links.set(landing, { entry: name, target });
    if (target !== undefined || this.links.delete(landing)) this.dirs.clear();
    this.kinds.set([...lexical, base].join('/'), entry.type === 'Directory');
  }

  /** Re-checks every symlink against the final tree: a later link can redirect an earlier one. */
  finish(): ContextScan {
    if (process.env.SCAN_DEBUG) console.error("budget used", WALK_BUDGET - this.budget);
    for (const [landing, link] of this.links) {
      const at = this.walk(landing.split('/').slice(0, -1), link.target);
      if (!Array.isArray(at)) throw linkError(link.entry, at, `is a symlink to ${show(link.target)}, which other links lead outside the context`);
    }
    const files = [...this.kinds].filter(([, dir]) => !dir).map(([path]) => path);
    return { entries: this.entries, bytes: this.bytes, files };
  }

  private count(name: string, size: number): void {
    if (size > this.limits.maxFileBytes) throw refuse(name, `is ${size} bytes, over the limit of ${this.limits.maxFileBytes} for one file`, IGNORE);
    this.bytes += size;
    if (this.bytes > this.limits.maxTotalBytes) {
      throw new UnsafeContextError(name, `the context's files add up to more than ${this.limits.maxTotalBytes} bytes (at ${show(name)}); add large files to .dockerignore`);
    }
  }

  /** A hard link names an earlier entry from the context root; one to a symlink is that symlink. */
  private hardLinkTarget(name: string, target: string): string | undefined {
    checkName(name, target);
    const fix = 'add the file itself to the context instead, or add the link to .dockerignore';
    if (isAbsolute(target)) throw refuse(name, `is a hard link to ${show(target)}, an absolute path`, fix);
    const lexical = this.walk([], target, false);
    if (!Array.isArray(lexical)) throw refuse(name, `is a hard link to ${show(target)}, outside the context`, fix);
    const base = lexical.pop() ?? '';
    const dir = this.dir(lexical.join('/'));
    if (!Array.isArray(dir)) throw linkError(name, dir, `is a hard link to ${show(target)}, which symlinks lead outside the context`);
    return this.links.get([...dir, base].join('/'))?.target;
  }

  /** Checked as written (as Docker does) and as the kernel would follow it through other links. */
  private checkSymlink(name: string, dir: string[], parent: string[], target: string): void {
    checkName(name, target);
    const problem = `is a symlink to ${show(target)}, outside the context`;
    const fix = `make the link relative and inside the context, or ${IGNORE}`;
    if (isAbsolute(target) || !Array.isArray(this.walk(dir, target, false))) throw refuse(name, problem, fix);
    const at = this.walk(parent, target);
    if (!Array.isArray(at)) throw linkError(name, at, `${problem} once the symlinks before it are followed`);
  }

  private dir(path: string): Walk {
    const known = this.dirs.get(path);
    if (known !== undefined) return known;
    const at = this.walk([], path);
    if (Array.isArray(at)) this.dirs.set(path, at);
    return at;
  }

  /**
   * Follows `rel` from directory `from` as the kernel would in the extracted context,
   * through the context's own symlinks unless `follow` is false; 'escapes' when it climbs
   * above the root.
   */
  private walk(from: readonly string[], rel: string, follow = true, hops = { n: 0 }): Walk {
    if (isAbsolute(rel)) return 'escapes';
    const at = [...from];
    const keys = follow ? this.prefixes(at) : [];
    for (const part of rel.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (at.pop() === undefined) return 'escapes';
        keys.pop();
        continue;
      }
      at.push(part);
      if (!follow) continue;
      const key = keys.length === 0 ? part : `${keys[keys.length - 1]}/${part}`;
      keys.push(key);
      if (this.links.size === 0) continue;
      if ((this.budget -= key.length) < 0) return 'tangled';
      const link = this.links.get(key);
      if (link === undefined) continue;
      if (++hops.n > MAX_LINK_HOPS) return 'loop';
      at.pop();
      const next = this.walk(at, link.target, true, hops);
      if (!Array.isArray(next)) return next;
      at.splice(0, at.length, ...next);
      keys.splice(0, keys.length, ...this.prefixes(next));
    }
    return at;
  }

  /** ["a", "b"] -> ["a", "a/b"]: the lookup key of each directory on the way. */
  private prefixes(parts: readonly string[]): string[] {
    this.budget -= parts.length;
    const keys: string[] = [];
    for (const part of parts) keys.push(keys.length === 0 ? part : `${keys[keys.length - 1]}/${part}`);
    return keys;
  }
}

function refuseType(entry: ReadEntry): never {
  if (entry.meta) throw refuse(entry.path, `carries a ${entry.size}-byte ${entry.type}, too large to check`, REPACK);
  const what = SPECIAL[entry.type] ?? `a tar entry of type ${entry.type}`;
  throw refuse(entry.path, `is ${what}; a context holds only files, directories and links`, IGNORE);
}

function refuseCompressed(chunk: Buffer): void {
  for (const [format, magic] of COMPRESSED) {
    if (chunk.subarray(0, magic.length).equals(magic)) throw new TarInvalidError(`it is ${format}-compressed; send a plain tar`);
  }
}

function checkName(name: string, value: string): void {
  if (value.includes('\0')) throw refuse(name, `has a NUL byte in ${show(value)}`, REPACK);
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) throw refuse(name, `has a path longer than ${MAX_NAME_BYTES} bytes`, REPACK);
}

function isAbsolute(p: string): boolean {
  return posix.isAbsolute(p) || win32.isAbsolute(p);
}

function linkError(name: string, walked: Exclude<Walk, string[]>, problem: string): UnsafeContextError {
  if (walked === 'loop') return refuse(name, `goes through more than ${MAX_LINK_HOPS} symlinks (a loop?)`, IGNORE);
  if (walked === 'tangled') return refuse(name, 'is among more symlinks than the coordinator will follow', IGNORE);
  return refuse(name, problem, IGNORE);
}

function refuse(name: string, problem: string, fix: string): UnsafeContextError {
  return new UnsafeContextError(name, `context entry ${show(name)} ${problem}; ${fix}`);
}

/** Quoted and cut short: paths come from the uploader and may hold control characters. */
function show(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}
