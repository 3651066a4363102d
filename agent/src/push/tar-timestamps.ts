import { Transform, type TransformCallback } from 'node:stream';
import { SavedImageInvalidError } from './errors';
import { clampPaxRecords } from './pax-records';
import {
  BLOCK,
  FIELD,
  GNU_EXT_IS_EXTENDED,
  GNU_IS_EXTENDED,
  TYPEFLAG,
  checksum,
  field,
  isGnuHeader,
  isStarHeader,
  isZeroBlock,
  padded,
  readNumber,
  verifyChecksum,
  writeNumber,
} from './tar-fields';

/** A PAX header larger than this is not one an engine writes; refusing it bounds memory. */
const MAX_PAX_BYTES = 1 << 20;
/** Types whose size field does not announce data (Go's archive/tar reads them so). */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
const META = new Set(['x', 'g', 'L', 'K']);

/** What one pass of {@link TarTimestampRewriter} changed. */
export interface TimestampStats {
  entries: number;
  /** Times set to the epoch: header fields and PAX records. */
  clamped: number;
}

type State = 'header' | 'data' | 'pax' | 'sparse' | 'end';

/**
 * Clamps every timestamp in a tar stream to `epoch` (seconds), as BuildKit's
 * `rewrite-timestamp` exporter option does: an mtime, atime or ctime later than the epoch
 * becomes the epoch, in the ustar header, in GNU's and star's extra time fields and in PAX
 * records. Times at or before the epoch are left alone.
 *
 * Written by hand, not with tar-stream or node-tar: those parse entries and write new
 * headers of their own (other padding, other PAX records, other field layouts), so a layer
 * that needs no change would still come out different, and the same layer from two engines'
 * tar writers would not stay byte-for-byte what the engine wrote. Reproducible digests need
 * exactly the engine's bytes except the times: here every block passes through untouched
 * unless one of its times changes, and then only those digits, the checksum and (for a PAX
 * header whose record got shorter) its size and padding change. Entry data is streamed
 * through without copying; memory is one header block plus at most one PAX header.
 */
export class TarTimestampRewriter extends Transform {
  readonly stats: TimestampStats = { entries: 0, clamped: 0 };
  private state: State = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private fill = 0;
  /** Data bytes (with padding) still to pass through in state 'data'. */
  private remaining = 0;
  /** The PAX header being read: its header block and its padded data. */
  private pax?: { header: Buffer; data: Buffer; size: number };
  /** A PAX `size` record, for the next entry. */
  private nextSize?: number;
  /** Data of the GNU sparse entry whose extension blocks are being read. */
  private sparseData = 0;

  constructor(private readonly epoch: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let at = 0;
      while (at < chunk.length) at = this.consume(chunk, at);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    const complete = (this.state === 'header' || this.state === 'end') && this.fill === 0;
    done(complete ? null : new SavedImageInvalidError('a layer tar ends in the middle of an entry'));
  }

  /** Takes what the current state needs from `chunk` at `at`; returns where it stopped. */
  private consume(chunk: Buffer, at: number): number {
    if (this.state === 'end') {
      this.push(chunk.subarray(at));
      return chunk.length;
    }
    if (this.state === 'data') {
      const n = Math.min(this.remaining, chunk.length - at);
      this.push(chunk.subarray(at, at + n));
      this.remaining -= n;
      if (this.remaining === 0) this.state = 'header';
      return at + n;
    }
    const target = this.state === 'pax' ? this.pax!.data : this.block;
    const n = Math.min(target.length - this.fill, chunk.length - at);
    chunk.copy(target, this.fill, at, at + n);
    this.fill += n;
    if (this.fill === target.length) {
      this.fill = 0;
      if (this.state === 'pax') this.onPaxData();
      else if (this.state === 'sparse') this.onSparseBlock();
      else this.onHeader();
    }
    return at + n;
  }

  private onHeader(): void {
    const block = this.block;
    if (isZeroBlock(block)) {
      // End of archive: the rest is zero padding, passed on as it is.
      this.push(Buffer.from(block));
      this.state = 'end';
      return;
    }
    verifyChecksum(block);
    const type = String.fromCharCode(block[TYPEFLAG]!);
    const stored = readNumber(field(block, FIELD.size));
    if (type === 'x' || type === 'g') {
      if (stored > MAX_PAX_BYTES) throw new SavedImageInvalidError(`a layer tar has a PAX header of ${stored} bytes`);
      this.pax = { header: Buffer.from(block), data: Buffer.alloc(padded(stored)), size: stored };
      this.state = stored > 0 ? 'pax' : 'header';
      if (stored === 0) this.onPaxData();
      return;
    }
    let size = stored;
    if (!META.has(type)) {
      this.stats.entries++;
      size = this.nextSize ?? stored;
      this.nextSize = undefined;
      if (HEADER_ONLY.has(type)) size = 0;
    }
    this.push(this.clampHeader(Buffer.from(block)));
    if (type === 'S' && block[GNU_IS_EXTENDED]) {
      this.sparseData = size;
      this.state = 'sparse';
      return;
    }
    this.startData(size);
  }

  private onPaxData(): void {
    const pax = this.pax!;
    this.pax = undefined;
    const clamped = clampPaxRecords(pax.data.subarray(0, pax.size), this.epoch);
    this.stats.clamped += clamped.clamped;
    if (pax.header[TYPEFLAG] === 0x78 /* x */ && clamped.size !== undefined) this.nextSize = clamped.size;
    let data = pax.data;
    if (clamped.clamped) {
      writeNumber(field(pax.header, FIELD.size), clamped.data.length);
      data = Buffer.alloc(padded(clamped.data.length));
      clamped.data.copy(data);
    }
    this.push(this.clampHeader(pax.header, clamped.clamped > 0));
    if (data.length) this.push(data);
    this.state = 'header';
  }

  private onSparseBlock(): void {
    this.push(Buffer.from(this.block));
    if (!this.block[GNU_EXT_IS_EXTENDED]) this.startData(this.sparseData);
  }

  private startData(size: number): void {
    this.remaining = padded(size);
    this.state = this.remaining > 0 ? 'data' : 'header';
  }

  /** Clamps the header's own time fields; recomputes the checksum if anything changed. */
  private clampHeader(header: Buffer, changed = false): Buffer {
    const fields: (readonly [number, number])[] = [FIELD.mtime];
    if (isGnuHeader(header)) fields.push(FIELD.gnuAtime, FIELD.gnuCtime);
    else if (isStarHeader(header)) fields.push(FIELD.starAtime, FIELD.starCtime);
    for (const f of fields) {
      const bytes = field(header, f);
      if (readNumber(bytes) > this.epoch) {
        writeNumber(bytes, this.epoch);
        this.stats.clamped++;
        changed = true;
      }
    }
    if (changed) writeNumber(field(header, FIELD.chksum), checksum(header));
    return header;
  }
}
