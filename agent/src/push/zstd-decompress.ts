import { Transform, type TransformCallback } from 'node:stream';
import { Decompress } from 'fzstd';
import { SavedImageInvalidError } from './errors';

/**
 * Streaming zstd decompression in JavaScript (fzstd): node:zlib has no zstd before Node.js
 * 22.15, and the agent runs on Node 18 without native addons. Memory is bounded by the
 * frame's window (BuildKit's zstd writes 8 MiB windows at most at its default level).
 */
export class ZstdDecompress extends Transform {
  private readonly decoder = new Decompress((chunk) => {
    // The decoder hands out views of its window, which the next block overwrites.
    this.push(Buffer.from(chunk));
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.run(() => this.decoder.push(chunk), done);
  }

  override _flush(done: TransformCallback): void {
    this.run(() => this.decoder.push(new Uint8Array(0), true), done);
  }

  private run(step: () => void, done: TransformCallback): void {
    try {
      step();
      done();
    } catch (err) {
      done(new SavedImageInvalidError(`a zstd layer does not decompress: ${(err as Error).message}`, { cause: err }));
    }
  }
}
