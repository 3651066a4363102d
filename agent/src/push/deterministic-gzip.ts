import { Transform, type TransformCallback } from 'node:stream';
import { Deflate } from 'pako';
import { SavedImageInvalidError } from './errors';

/** zlib's default: close to the best ratio at a fraction of level 9's time. */
export const GZIP_LEVEL = 6;

/**
 * pako deflates on the event loop: about 1.5 ms per 16 KiB on an x86 core, ten times that on
 * a slow or emulated CPU. Input is deflated in slices of this size with a turn of the event
 * loop between them, so heartbeats and Cancel are never held up by more than one slice.
 */
const SLICE = 16 * 1024;

/**
 * Gzip whose bytes depend on the input alone, on every CPU and Node.js version: for layers
 * whose digest must be reproducible (SOURCE_DATE_EPOCH). Node's own zlib is Chromium's fork,
 * whose output differs by CPU (measured: Node 20.11 on s390x gzips the same tar to other bytes
 * than on amd64, arm64, arm/v7 and ppc64le) and by Node.js release. pako is deflate written
 * in JavaScript; with `legacyHash` it gives canonical zlib's output at the same level. The
 * header has no file name and mtime 0, as zlib writes it. About 2.5 times slower than
 * node:zlib, so it is used only where reproducibility is asked for.
 */
export class DeterministicGzip extends Transform {
  private readonly deflate = new Deflate({ level: GZIP_LEVEL, gzip: true, legacyHash: true });
  /** Bytes deflated since the event loop last had a turn. */
  private sinceYield = 0;

  constructor() {
    super();
    // pako may reuse its output buffer for the next chunk: copy before passing it on.
    this.deflate.onData = (chunk) => this.push(Buffer.from(chunk));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // Counted across chunks: an upstream that writes many small pieces (tar headers) would
    // otherwise have them all deflated in one turn of the loop.
    const step = (at: number): void => {
      while (at < chunk.length) {
        const n = Math.min(SLICE - this.sinceYield, chunk.length - at);
        if (!this.deflate.push(chunk.subarray(at, at + n), false)) return done(this.failure());
        at += n;
        this.sinceYield += n;
        if (this.sinceYield >= SLICE) {
          this.sinceYield = 0;
          return void setImmediate(() => (at < chunk.length ? step(at) : done()));
        }
      }
      done();
    };
    step(0);
  }

  override _flush(done: TransformCallback): void {
    done(this.deflate.push(new Uint8Array(0), true) ? null : this.failure());
  }

  private failure(): Error {
    return new SavedImageInvalidError(`gzip failed: ${this.deflate.msg || String(this.deflate.err)}`);
  }
}
