import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DIGEST } from '../image-ref';

/** The OCI digest ("sha256:<hex>") of some bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** True for "sha256:<64 lowercase hex>", the only digest algorithm archfarm writes. */
export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/**
 * A pass-through stream that hashes and counts what flows through it, so a layer can be
 * digested while it is compressed or uploaded without holding it in memory.
 */
export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** The digest of everything seen; call once, after the stream has finished. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }
}
