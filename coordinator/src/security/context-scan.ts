import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { posix, win32 } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { ArchfarmError } from '@archfarm/common';
import { MAX_CONTEXT_ENTRIES } from './limits';
import { RawTarReader, RawTarRefusal, type RawEntry } from './raw-tar';

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
  /** Most entries (files, directories, links); default MAX_CONTEXT_ENTRIES. */
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
const WALK_BUDGET = 20_000_000; // walk steps: ~1.5 s at worst; a 100 000-entry node_modules takes ~1M
const ACCEPTED = new Set<string>(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
/** node-tar's entry types by the typeflag a raw header gives them. */
const TYPEFLAG: Record<string, string> = { File: '0', OldFile: '0', ContiguousFile: '7', Link: '1', SymbolicLink: '2', CharacterDevice: '3', BlockDevice: '4', Directory: '5', FIFO: '6' };
const SPECIAL: Record<string, string> = { CharacterDevice: 'a character device', BlockDevice: 'a block device', FIFO: 'a named pipe (FIFO)' };
const COMPRESSED: [string, Buffer][] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];

/**
 * Reads a context tar and refuses, with UnsafeContextError, anything an agent should not
 * extract: absolute or escaping paths, devices and FIFOs, links that resolve outside the
 * context (also through other symlinks, in archive order and in the final tree), oversize
 * entries and too many of them, PAX global headers and unknown PAX keywords and types, and
 * any entry node-tar reads differently from its raw headers (./raw-tar says why both). A
 * file that is not a whole plain tar gives TarInvalidError.
 */
export async function scanContext(tarPath: string, opts: ScanOptions = {}): Promise<ContextScan> {
  const tree = new ContextTree({
    maxEntries: opts.maxEntries ?? MAX_CONTEXT_ENTRIES,
    maxFileBytes: opts.maxFileBytes ?? 1024 ** 3,
    maxTotalBytes: opts.maxTotalBytes ?? Number.POSITIVE_INFINITY,
  });
  const run = new ParseRun(tree);
  let first = true;
  for await (const chunk of createReadStream(tarPath) as AsyncIterable<Buffer>) {
    if (first) refuseCompressed(chunk);
    first = false;
    await run.write(chunk);
  }
  await run.end();
  return tree.finish();
}

/** Feeds node-tar's Parser and stops at the first refusal or tar error. */
class ParseRun {
  // Parser reports each header's path and linkpath as written: node-tar's sanitising
  // (preservePaths) belongs to extraction. strict turns every warning into 'error'.
  // Compressed input is refused before it, so no decompressor ever runs.
  private readonly parser = new Parser({ strict: true, brotli: false, zstd: false });
  /** The same bytes read from their raw headers, as Docker's Go tar reads them; entries not yet matched. */
  private readonly raw = new RawTarReader();
  private readonly rawEntries: RawEntry[] = [];
  private failure: Error | undefined;
  private sawEndMarker = false;
  private readonly parsed: Promise<void>;

  constructor(tree: ContextTree) {
    this.parser.on('entry', (entry: ReadEntry) => {
      entry.resume(); // the body is not needed; this discards it
      this.guard(() => {
        agree(entry, this.rawEntries.shift());
        tree.add(entry);
      });
    });
    // Unknown types, and pax headers too big for node-tar to apply (other readers would).
    this.parser.on('ignoredEntry', (entry: ReadEntry) => this.guard(() => refuseType(entry)));
    this.parser.on('eof', () => (this.sawEndMarker = true));
    this.parsed = new Promise<void>((resolve) => {
      this.parser.on('end', resolve);
      this.parser.on('error', (err: Error) => {
        this.failure ??= new TarInvalidError(err.message, { cause: err });
        resolve();
      });
    });
  }

  async write(chunk: Buffer): Promise<void> {
    // The raw reading goes first, so an entry's raw header is always read before node-tar's entry event.
    if (this.failure === undefined) this.guard(() => this.rawEntries.push(...this.raw.feed(chunk)));
    if (this.failure !== undefined) throw this.failure;
    if (!this.parser.write(chunk) && this.failure === undefined) await once(this.parser, 'drain').catch(() => undefined);
    if (this.failure !== undefined) throw this.failure;
  }

  async end(): Promise<void> {
    this.parser.end();
    await this.parsed;
    if (this.failure !== undefined) throw this.failure;
    if (!this.sawEndMarker || !this.raw.ended) throw new TarInvalidError('it ends before the end-of-archive marker, so it was cut short');
    const unread = this.rawEntries[0];
    if (unread) throw refuse(unread.path, 'is in the raw tar headers but node-tar did not read it as an entry', REPACK);
  }

  private guard(check: () => void): void {
    try {
      if (this.failure === undefined) check();
    } catch (err) {
      this.failure = err instanceof RawTarRefusal ? fromRaw(err) : (err as Error);
    }
  }
}

/** node-tar's entry against the raw headers' reading of it: the same path, type, link and size, or refused. */
function agree(entry: ReadEntry, raw: RawEntry | undefined): void {
  if (raw === undefined) throw refuse(entry.path, 'is an entry node-tar reads where the raw tar headers have none (after the end of the archive?)', REPACK);
  const parsed = { path: entry.path, type: TYPEFLAG[entry.type] ?? entry.type, linkpath: entry.linkpath ?? '', size: entry.size };
  const fields = [
    ['path', parsed.path, raw.path],
    ['type', parsed.type, raw.typeflag],
    ['link target', parsed.linkpath, raw.linkpath],
    ['size', parsed.size, raw.size],
  ] as const;
  for (const [what, seen, written] of fields) {
    if (seen !== written) throw refuse(raw.path, `has a ${what} of ${show(String(written))} in its raw tar headers but ${show(String(seen))} as parsed (tar readers would extract it differently)`, REPACK);
  }
}

function fromRaw(err: RawTarRefusal): Error {
  if (err.invalid) return new TarInvalidError(`entry ${show(err.entry)} ${err.problem}`);
  return refuse(err.entry, err.problem, REPACK);
}

interface Link {
  entry: string;
  target: string;
}
/** A path in the extracted context; `link` is set while a symlink sits there. */
interface Node {
  parent: Node | undefined;
  children: Map<string, Node>;
  link?: Link;
}
type Failure = 'escapes' | 'loop' | 'tangled';
/** Where a walk ends: `below` levels under `node` in directories no entry has made (yet). */
type Walk = { node: Node; below: number } | Failure;
const failed = (w: Walk): w is Failure => typeof w === 'string';

/** The tree the context would extract to, as far as the safety checks need it. */
class ContextTree {
  private entries = 0;
  private bytes = 0;
  private readonly root: Node = { parent: undefined, children: new Map() };
  private readonly symlinks = new Set<Node>();
  /** Normalised path -> is a directory; the last entry for a path wins, as in extraction. */
  private readonly kinds = new Map<string, boolean>();
  /** Steps left for walking the tree, so a crafted tangle of links cannot stall the coordinator. */
  private budget = WALK_BUDGET;

  constructor(private readonly limits: Required<ScanOptions>) {}

  add(entry: ReadEntry): void {
    const name = entry.path;
    if (++this.entries > this.limits.maxEntries) {
      throw new UnsafeContextError(name, `the context has more than ${this.limits.maxEntries} entries (at ${show(name)}); add what the build does not need (node_modules, .git) to .dockerignore`);
    }
    checkName(name, name);
    if (isAbsolute(name)) throw refuse(name, 'has an absolute path', REPACK);
    const parts = normalise([], name);
    if (parts === undefined) throw refuse(name, 'leaves the context', IGNORE);
    if (!ACCEPTED.has(entry.type)) refuseType(entry);
    this.count(name, entry.size);
    const base = parts.pop();
    if (base === undefined) {
      if (entry.type !== 'Directory') throw refuse(name, 'names the context root but is not a directory', REPACK);
      return;
    }
    // Extraction creates missing parents (following symlinks), so this walk does too.
    const walked = this.walk(this.root, parts, true);
    if (failed(walked)) throw linkError(name, walked, 'is reached through a symlink that leaves the context');
    const parent = walked.node;
    let target = entry.type === 'SymbolicLink' ? (entry.linkpath ?? '') : undefined;
    if (entry.type === 'Link') target = this.hardLinkTarget(name, entry.linkpath ?? '');
    if (target !== undefined) this.checkSymlink(name, parts, parent, target);
    const node = this.child(parent, base);
    node.link = target === undefined ? undefined : { entry: name, target };
    if (target !== undefined) this.symlinks.add(node);
    this.kinds.set([...parts, base].join('/'), entry.type === 'Directory');
  }

  /** Re-checks every symlink against the final tree: a later link can redirect an earlier one. */
  finish(): ContextScan {
    for (const node of this.symlinks) {
      if (node.link === undefined) continue; // replaced by a later entry
      const at = this.walk(node.parent ?? this.root, node.link.target.split('/'), false);
      if (failed(at)) throw linkError(node.link.entry, at, `is a symlink to ${show(node.link.target)}, which other links lead outside the context`);
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
    const parts = normalise([], target);
    if (parts === undefined) throw refuse(name, `is a hard link to ${show(target)}, outside the context`, fix);
    const base = parts.pop() ?? '';
    const dir = this.walk(this.root, parts, false);
    if (failed(dir)) throw linkError(name, dir, `is a hard link to ${show(target)}, which symlinks lead outside the context`);
    return dir.below > 0 ? undefined : dir.node.children.get(base)?.link?.target;
  }

  /** Checked as written (as Docker does) and as the kernel would follow it through other links. */
  private checkSymlink(name: string, dir: string[], parent: Node, target: string): void {
    checkName(name, target);
    const problem = `is a symlink to ${show(target)}, outside the context`;
    if (isAbsolute(target) || normalise(dir, target) === undefined) throw refuse(name, problem, `make the link relative and inside the context, or ${IGNORE}`);
    const at = this.walk(parent, target.split('/'), false);
    if (failed(at)) throw linkError(name, at, `${problem} once the symlinks before it are followed`);
  }

  /**
   * Follows `parts` from `from` as the kernel would in the extracted context, through its
   * symlinks. With `create`, missing directories are made (as extraction makes parents);
   * without, the walk counts levels below the last existing node instead.
   */
  private walk(from: Node, parts: readonly string[], create: boolean, hops = { n: 0 }): Walk {
    let at = from;
    let below = 0;
    for (const part of parts) {
      if ((this.budget -= 1 + (part.length >> 5)) < 0) return 'tangled';
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (below > 0) below -= 1;
        else if (at.parent === undefined) return 'escapes';
        else at = at.parent;
        continue;
      }
      const next = below > 0 ? undefined : (at.children.get(part) ?? (create ? this.child(at, part) : undefined));
      if (next === undefined) {
        below += 1;
        continue;
      }
      at = next;
      if (at.link === undefined) continue;
      if (++hops.n > MAX_LINK_HOPS) return 'loop';
      const resolved = this.walk(at.parent ?? this.root, at.link.target.split('/'), create, hops);
      if (failed(resolved)) return resolved;
      ({ node: at, below } = resolved);
    }
    return { node: at, below };
  }

  private child(parent: Node, name: string): Node {
    let node = parent.children.get(name);
    if (node === undefined) {
      this.budget -= 1;
      node = { parent, children: new Map() };
      parent.children.set(name, node);
    }
    return node;
  }
}

/** `rel` from `from` without following links; undefined when it climbs above the root. */
function normalise(from: readonly string[], rel: string): string[] | undefined {
  const at = [...from];
  for (const part of rel.split('/')) {
    if (part === '..') {
      if (at.pop() === undefined) return undefined;
    } else if (part !== '' && part !== '.') at.push(part);
  }
  return at;
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

function linkError(name: string, walked: Failure, problem: string): UnsafeContextError {
  if (walked === 'loop') return refuse(name, `goes through more than ${MAX_LINK_HOPS} symlinks (a loop?)`, IGNORE);
  if (walked === 'tangled') return refuse(name, 'is where checking the context ran over its limit (a tangle of symlinks or very deep paths)', IGNORE);
  return refuse(name, problem, IGNORE);
}

function refuse(name: string, problem: string, fix: string): UnsafeContextError {
  return new UnsafeContextError(name, `context entry ${show(name)} ${problem}; ${fix}`);
}

/** Quoted and cut short: paths come from the uploader and may hold control characters. */
function show(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}
