import { createReadStream, createWriteStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DigestStream } from '@archfarm/common';
import type { CompressedLayer } from './compress-layer';
import { DeterministicGzip } from './deterministic-gzip';
import type { LayerCompression } from './layer-compression';
import { TarTimestampRewriter, type TimestampStats } from './tar-timestamps';
import { ZstdDecompress } from './zstd-decompress';

/** A layer rewritten for SOURCE_DATE_EPOCH: the new blob, and the diff_id it had before. */
export interface RewrittenLayer extends CompressedLayer {
  originalDiffId: string;
  stats: TimestampStats;
}

/**
 * Decompresses a layer (plain tar, gzip or zstd), clamps its timestamps to `epoch`, and
 * gzips it deterministically to `dest`, in one streaming pass that hashes the tar before
 * (to check it against the config) and after (the new diff_id) the rewrite.
 */
export async function rewriteLayer(source: string, compression: LayerCompression, dest: string, epoch: number, signal?: AbortSignal): Promise<RewrittenLayer> {
  const before = new DigestStream();
  const rewriter = new TarTimestampRewriter(epoch);
  const after = new DigestStream();
  const gzipHash = new DigestStream();
  const decompress: Transform[] = compression === 'gzip' ? [createGunzip()] : compression === 'zstd' ? [new ZstdDecompress()] : [];
  await pipeline([createReadStream(source), ...decompress, before, rewriter, after, new DeterministicGzip(), gzipHash, createWriteStream(dest)], { signal });
  return {
    path: dest,
    digest: gzipHash.digest(),
    size: gzipHash.size,
    diffId: after.digest(),
    originalDiffId: before.digest(),
    stats: rewriter.stats,
  };
}
