import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestStream } from '@archfarm/common';
import { SavedImageInvalidError } from './errors';

/** A layer gzipped to a file: the digest and size of the gzip, and the digest of the tar. */
export interface CompressedLayer {
  path: string;
  digest: string;
  size: number;
  diffId: string;
}

/** zlib's default: close to the best ratio at a fraction of level 9's time. */
const GZIP_LEVEL = 6;

/**
 * Gzips an uncompressed layer tar to `dest`, hashing both sides in one streaming pass,
 * so memory stays bounded whatever the layer's size.
 */
export async function compressLayer(source: string, dest: string): Promise<CompressedLayer> {
  await refuseCompressed(source);
  const tarHash = new DigestStream();
  const gzipHash = new DigestStream();
  await pipeline(createReadStream(source), tarHash, createGzip({ level: GZIP_LEVEL }), gzipHash, createWriteStream(dest));
  return { path: dest, digest: gzipHash.digest(), size: gzipHash.size, diffId: tarHash.digest() };
}

/**
 * `docker save` of Docker 20.10 writes uncompressed tars; an engine that writes gzip
 * (containerd image store) would be gzipped twice, giving an image no engine can unpack.
 */
async function refuseCompressed(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await file.read(head, 0, 2, 0);
    if (bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b) {
      throw new SavedImageInvalidError(`layer ${path} is already gzip-compressed; expected the uncompressed layer.tar of docker save`);
    }
  } finally {
    await file.close();
  }
}
