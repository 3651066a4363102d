const BLOCK = 512;
const TYPEFLAG_OFFSET = 156;
const SIZE_OFFSET = 124;
const SIZE_LENGTH = 12;

/**
 * How many bytes a pax global header at the start of a tar takes (its header block and its
 * records, padded to blocks), or 0 when the tar does not start with one. `first` is the tar's
 * first 512 bytes. `git archive` of a commit writes exactly one such entry, first.
 */
export function tarGlobalHeaderBytes(first: Buffer): number {
  if (first.length < BLOCK || first[TYPEFLAG_OFFSET] !== 'g'.charCodeAt(0)) return 0;
  const size = parseInt(first.subarray(SIZE_OFFSET, SIZE_OFFSET + SIZE_LENGTH).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isFinite(size) || size < 0) return 0;
  return BLOCK + Math.ceil(size / BLOCK) * BLOCK;
}
