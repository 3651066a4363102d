import { SavedImageInvalidError } from './errors';

/** A tar archive is a sequence of 512-byte blocks: headers, then data padded to a block. */
export const BLOCK = 512;

/** [offset, length] of the header fields the timestamp rewriter reads or writes. */
export const FIELD = {
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  /** GNU (magic "ustar  \0"): access and change times where POSIX keeps the name prefix. */
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
  /** star (magic "ustar\0" "00", trailer "tar\0"): the same times at the end of the prefix. */
  starAtime: [476, 12],
  starCtime: [488, 12],
} as const satisfies Record<string, readonly [number, number]>;

export const TYPEFLAG = 156;
/** GNU old sparse: set when extension blocks of the sparse map follow the header. */
export const GNU_IS_EXTENDED = 482;
/** The same flag in a GNU sparse extension block. */
export const GNU_EXT_IS_EXTENDED = 504;

type Field = readonly [number, number];

const SPACE = 0x20;
const NUL = 0;
const isOctalDigit = (b: number): boolean => b >= 0x30 && b <= 0x37;

/** The header's field as a view on the block; writing to it writes the block. */
export function field(block: Buffer, [offset, length]: Field): Buffer {
  return block.subarray(offset, offset + length);
}

/**
 * A numeric header field: octal text (leading spaces or NULs, digits, then NUL or space),
 * or GNU base-256 (top bit of the first byte set) for values octal cannot hold.
 * Negative base-256 values come back as -1: only "later than the epoch" matters here.
 */
export function readNumber(bytes: Buffer): number {
  const first = bytes[0] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) return -1;
    let value = first & 0x7f;
    for (const b of bytes.subarray(1)) value = value * 256 + b;
    if (!Number.isSafeInteger(value)) throw new SavedImageInvalidError('a layer tar has a base-256 number too large to handle');
    return value;
  }
  let i = 0;
  while (i < bytes.length && (bytes[i] === SPACE || bytes[i] === NUL)) i++;
  let value = 0;
  for (; i < bytes.length && isOctalDigit(bytes[i]!); i++) value = value * 8 + (bytes[i]! - 0x30);
  for (; i < bytes.length; i++) {
    if (bytes[i] !== SPACE && bytes[i] !== NUL) {
      throw new SavedImageInvalidError(`a layer tar has a numeric header field that is not octal: ${JSON.stringify(bytes.toString('latin1'))}`);
    }
  }
  return value;
}

/**
 * Writes `value` into a numeric field in the layout the field already has, so that only
 * the digits change: the same width, the same padding (zeros, or spaces as old tars wrote
 * them), the same terminator. A base-256 field stays base-256.
 */
export function writeNumber(bytes: Buffer, value: number): void {
  if ((bytes[0] ?? 0) & 0x80) {
    bytes.fill(0);
    let rest = value;
    for (let i = bytes.length - 1; i > 0 && rest > 0; i--) {
      bytes[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    bytes[0] = 0x80;
    return;
  }
  let start = 0;
  while (start < bytes.length && !isOctalDigit(bytes[start]!)) start++;
  let end = start;
  while (end < bytes.length && isOctalDigit(bytes[end]!)) end++;
  if (start === bytes.length) {
    // No digits at all (an empty field reads as 0): write what Go and GNU tar write.
    start = 0;
    end = bytes.length - 1;
    bytes[end] = NUL;
  }
  const pad = start > 0 && bytes.subarray(0, start).every((b) => b === SPACE) ? ' ' : '0';
  const digits = value.toString(8);
  if (digits.length > end) throw new SavedImageInvalidError(`${value} does not fit a ${end}-digit tar header field`);
  bytes.write(digits.padStart(end, pad), 0, 'latin1');
}

/** The header checksum: the sum of its bytes with the checksum field counted as spaces. */
export function checksum(block: Buffer): number {
  let sum = 0;
  const [offset, length] = FIELD.chksum;
  for (let i = 0; i < BLOCK; i++) sum += i >= offset && i < offset + length ? SPACE : block[i]!;
  return sum;
}

/** Checks the stored checksum (unsigned, or signed as some old tars computed it). */
export function verifyChecksum(block: Buffer): void {
  const stored = readNumber(field(block, FIELD.chksum));
  if (stored === checksum(block)) return;
  let signed = 0;
  const [offset, length] = FIELD.chksum;
  for (let i = 0; i < BLOCK; i++) signed += i >= offset && i < offset + length ? SPACE : (block[i]! << 24) >> 24;
  if (stored !== signed) throw new SavedImageInvalidError('a layer tar has a header whose checksum does not match (not a tar, or damaged)');
}

export function isZeroBlock(block: Buffer): boolean {
  for (const b of block) if (b !== 0) return false;
  return true;
}

export function isGnuHeader(block: Buffer): boolean {
  return block.toString('latin1', 257, 265) === 'ustar  \0';
}

export function isStarHeader(block: Buffer): boolean {
  return block.toString('latin1', 257, 265) === 'ustar\x0000' && block.toString('latin1', 508, 512) === 'tar\0';
}

/** Bytes a payload of `size` takes, padded to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
