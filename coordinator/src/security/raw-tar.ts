/*
 * A second reading of a context tar, from its raw 512-byte headers, as Go's archive/tar reads
 * them (Docker's daemon and BuildKit extract contexts with it). The scanner checks node-tar's
 * view of each entry, but node-tar and Go differ where the tar format is loose: node-tar
 * applies a PAX *global* header's linkpath to every later entry while Go ignores global
 * headers, so a symlink the scanner saw as harmless extracted as one that escapes (threat 7
 * of issue 15). Others: node-tar prepends the ustar prefix to a PAX path, reads a body for a
 * symlink with a size, splits PAX records on newlines. Rather than chase each, the scanner
 * reads both ways and refuses any entry the two readings disagree on, and this reader
 * refuses outright what only one side understands (global and unknown PAX headers and
 * keywords, GNU sparse files, unknown entry types).
 */

/** One entry as its raw headers say, after the PAX and GNU long-name headers before it. */
export interface RawEntry {
  path: string;
  linkpath: string;
  /** The typeflag byte as written ('0', '5', '2', ...; '\0' reads as '0'). */
  typeflag: string;
  size: number;
}

/**
 * The raw headers say something the scanner will not accept; `entry` is the path where known.
 * `invalid`: not a well-formed tar at all (a bad checksum or number); else a tar the farm refuses.
 */
export class RawTarRefusal extends Error {
  constructor(
    readonly entry: string,
    readonly problem: string,
    readonly invalid = false,
  ) {
    super(problem);
  }
}

const BLOCK = 512;
/** node-tar's own cap on a PAX or long-name body (maxMetaEntrySize); bigger ones it skips. */
const MAX_META_BYTES = 1024 * 1024;
/** Types that are headers only: Go reads no body for them, whatever the size field says. */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
const ENTRY_TYPES = new Set(['0', '7', ...HEADER_ONLY]);
const META_TYPES = new Set(['x', 'L', 'K']);
/** PAX keywords both readers treat alike (or that change nothing the scan checks). */
const PAX_KEYS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime', 'comment', 'charset', 'hdrcharset', 'SCHILY.dev', 'SCHILY.ino', 'SCHILY.nlink']);
const PAX_PREFIXES = ['SCHILY.xattr.', 'LIBARCHIVE.xattr.'];

type State = { at: 'header' } | { at: 'skip'; left: number } | { at: 'meta'; type: string; name: string; size: number; left: number; chunks: Buffer[] } | { at: 'end' };

/** Fed the same bytes as node-tar's parser, in order; yields each entry once its header is read. */
export class RawTarReader {
  private state: State = { at: 'header' };
  private pending = Buffer.alloc(0);
  private sawZeroBlock = false;
  private pax: Map<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  /** The entries whose headers complete in this chunk. Throws RawTarRefusal. */
  feed(chunk: Buffer): RawEntry[] {
    const out: RawEntry[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0 && this.state.at !== 'end') {
      const state = this.state;
      if (state.at === 'skip') {
        const n = Math.min(state.left, data.length);
        state.left -= n;
        data = data.subarray(n);
        if (state.left === 0) this.state = { at: 'header' };
      } else if (state.at === 'meta') {
        const n = Math.min(state.left, data.length);
        state.chunks.push(data.subarray(0, n));
        state.left -= n;
        data = data.subarray(n);
        if (state.left === 0) this.endMeta(state.type, state.name, Buffer.concat(state.chunks).subarray(0, state.size));
      } else {
        if (data.length < BLOCK) break;
        const entry = this.header(data.subarray(0, BLOCK));
        data = data.subarray(BLOCK);
        if (entry) out.push(entry);
      }
    }
    if (this.state.at !== 'end') this.pending = Buffer.from(data);
    return out;
  }

  /** Whether the end-of-archive marker (two zero blocks) was read. */
  get ended(): boolean {
    return this.state.at === 'end';
  }

  private header(block: Buffer): RawEntry | undefined {
    if (block.every((b) => b === 0)) {
      if (this.sawZeroBlock) this.state = { at: 'end' };
      this.sawZeroBlock = true;
      return undefined;
    }
    const name = this.nameOf(block);
    // Go stops at a zero block not followed by another; node-tar reads on past it.
    if (this.sawZeroBlock) throw new RawTarRefusal(name, 'follows a single zero block inside the archive (an end marker is two)', true);
    if (!checksumValid(block)) throw new RawTarRefusal(name, 'has a header checksum failure', true);
    const typeflag = String.fromCharCode(block[156]!);
    const size = octal(block.subarray(124, 136), name, 'size');
    if (typeflag === 'g') throw new RawTarRefusal(name, 'is a PAX global header, which tar readers apply differently (Docker ignores it)');
    if (META_TYPES.has(typeflag)) {
      if (size > MAX_META_BYTES) throw new RawTarRefusal(name, `carries a ${size}-byte extended header, too large to check`);
      this.state = { at: 'meta', type: typeflag, name, size, left: padded(size), chunks: [] };
      if (size === 0) this.endMeta(typeflag, name, Buffer.alloc(0));
      return undefined;
    }
    if (!ENTRY_TYPES.has(typeflag) && typeflag !== '\0') throw new RawTarRefusal(name, `is a tar entry of type ${JSON.stringify(typeflag)}; a context holds only files, directories and links`);
    const entry = this.entry(block, typeflag, name, size);
    if (HEADER_ONLY.has(entry.typeflag) && entry.size !== 0) throw new RawTarRefusal(entry.path, `is a header-only entry (type ${entry.typeflag}) with a ${entry.size}-byte body, which tar readers skip differently`);
    this.state = entry.size > 0 ? { at: 'skip', left: padded(entry.size) } : { at: 'header' };
    return entry;
  }

  /** The entry with the pending PAX and GNU long-name headers applied (PAX wins, as in Go). */
  private entry(block: Buffer, typeflag: string, name: string, headerSize: number): RawEntry {
    const pax = this.pax;
    const path = pax?.get('path') ?? this.longName ?? name;
    const linkpath = pax?.get('linkpath') ?? this.longLink ?? cString(block.subarray(157, 257));
    const paxSize = pax?.get('size');
    const size = paxSize === undefined ? headerSize : decimal(paxSize, path);
    this.pax = this.longName = this.longLink = undefined;
    // Go's TypeRegA rule, applied once the PAX path is known: a NUL type is a file, or a directory by its slash.
    const type = typeflag !== '\0' ? typeflag : path.endsWith('/') ? '5' : '0';
    return { path, linkpath, typeflag: type, size };
  }

  /** `name`: the extended header's own, which refusals of it name. */
  private endMeta(type: string, name: string, body: Buffer): void {
    if (type === 'x') this.pax = parsePax(body, name);
    else if (type === 'L') this.longName = cString(body);
    else this.longLink = cString(body);
    this.state = { at: 'header' };
  }

  /** The ustar name: prefix + '/' + name when the magic says ustar (Go reads no prefix for GNU tars). */
  private nameOf(block: Buffer): string {
    const name = cString(block.subarray(0, 100));
    const ustar = block.subarray(257, 265).toString('latin1') === 'ustar\u000000';
    const prefix = ustar ? cString(block.subarray(345, 500)) : '';
    return prefix === '' ? name : `${prefix}/${name}`;
  }
}

/** PAX records, `LEN KEY=VALUE\n`, read by their lengths as Go does (values may hold newlines). */
function parsePax(body: Buffer, at: string): Map<string, string> {
  const records = new Map<string, string>();
  let rest = body;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    const length = space > 0 ? Number(rest.subarray(0, space).toString('latin1')) : NaN;
    if (!Number.isSafeInteger(length) || length <= space + 1 || length > rest.length || rest[length - 1] !== 0x0a) throw new RawTarRefusal(at, 'has a malformed PAX record', true);
    const record = rest.subarray(space + 1, length - 1).toString('utf8');
    rest = rest.subarray(length);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new RawTarRefusal(at, 'has a malformed PAX record', true);
    const key = record.slice(0, eq);
    if (!PAX_KEYS.has(key) && !PAX_PREFIXES.some((p) => key.startsWith(p))) {
      throw new RawTarRefusal(at, `has a PAX header with the keyword ${JSON.stringify(key.slice(0, 64))}, which the context scanner does not know`);
    }
    records.set(key, record.slice(eq + 1));
  }
  return records;
}

function checksumValid(block: Buffer): boolean {
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue;
    unsigned += block[i]!;
    signed += (block[i]! << 24) >> 24;
  }
  const stored = cString(block.subarray(148, 156)).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  const value = parseInt(stored, 8);
  return value === unsigned || value === signed;
}

/** A numeric header field: octal (spaces and NULs around it), or base-256 when its top bit is set. */
function octal(field: Buffer, name: string, what: string): number {
  if ((field[0]! & 0x80) !== 0) {
    if (field[0] === 0xff) throw new RawTarRefusal(name, `has a negative ${what} field`);
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw new RawTarRefusal(name, `has a ${what} field too large to read`);
    return value;
  }
  const text = field.toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new RawTarRefusal(name, `has a malformed ${what} field`, true);
  return parseInt(text, 8);
}

function decimal(text: string, name: string): number {
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new RawTarRefusal(name, 'has a malformed PAX size');
  return Number(text);
}

/** Up to the first NUL, as both readers cut string fields. */
function cString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
