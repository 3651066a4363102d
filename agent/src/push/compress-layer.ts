import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestStream } from '@archfarm/common';
import { DeterministicGzip, GZIP_LEVEL } from './deterministic-gzip';

/** A layer gzipped to a file: the digest and size of the gzip, and the digest of the tar. */
export interface CompressedLayer {
  path: string;
  digest: string;
  size: number;
  diffId: string;
}

/**
 * Gzips an uncompressed layer tar to `dest`, hashing both sides in one streaming pass,
 * so memory stays bounded whatever the layer's size. `deterministic` trades speed for
 * the same bytes on every CPU (see {@link DeterministicGzip}); node:zlib otherwise.
 * The caller knows the file is a plain tar (an already compressed layer is pushed as it is).
 */
export async function compressLayer(source: string, dest: string, opts: { deterministic?: boolean; signal?: AbortSignal } = {}): Promise<CompressedLayer> {
  const tarHash = new DigestStream();
  const gzipHash = new DigestStream();
  const gzip = opts.deterministic ? new DeterministicGzip() : createGzip({ level: GZIP_LEVEL });
  await pipeline(createReadStream(source), tarHash, gzip, gzipHash, createWriteStream(dest), { signal: opts.signal });
  return { path: dest, digest: gzipHash.digest(), size: gzipHash.size, diffId: tarHash.digest() };
}
