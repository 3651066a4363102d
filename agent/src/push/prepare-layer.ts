import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { MediaType, type Descriptor } from '@archfarm/common';
import type { SavedLayer } from './archive-files';
import { compressLayer } from './compress-layer';
import { SavedImageInvalidError } from './errors';
import { pushedLayerMediaType } from './layer-compression';
import { rewriteLayer } from './rewrite-layer';

/** How layers are to be pushed. */
export interface LayerPlan {
  /** SOURCE_DATE_EPOCH (seconds): clamp the layers' timestamps, gzip deterministically. */
  epoch?: number;
  /**
   * diff_ids left as they are even with an epoch: the base image's layers, which BuildKit's
   * rewrite-timestamp keeps too, so they stay shared with the base image in the registry.
   */
  keepDiffIds?: ReadonlySet<string>;
  /** Stops the push (the job was dropped): the layer's pipeline is torn down. */
  signal?: AbortSignal;
}

/** A layer ready to upload: its manifest descriptor, its diff_id as pushed, its file. */
export interface PreparedLayer {
  descriptor: Descriptor;
  diffId: string;
  path: string;
  /** What was done to it, for the job's log. */
  note: string;
}

/**
 * Makes one saved layer pushable. With an epoch, every layer not kept is decompressed,
 * clamped and gzipped again. Without one, a plain tar is gzipped and a compressed blob
 * (gzip or zstd, from the containerd image store) is pushed as it is: its digest and media
 * type as the engine wrote them, its diff_id from the config. A plain tar's hash is checked
 * against the config; a compressed blob's digest is checked by the registry on upload, and
 * its diff_id by every engine that pulls it.
 */
export async function prepareLayer(layer: SavedLayer, dest: string, plan: LayerPlan, step: string): Promise<PreparedLayer> {
  if (plan.epoch !== undefined && !plan.keepDiffIds?.has(layer.diffId)) {
    const out = await rewriteLayer(layer.path, layer.compression, dest, plan.epoch, plan.signal);
    checkDiffId(out.originalDiffId, layer.diffId, step);
    const note = `${layer.compression === 'none' ? '' : `decompressed (${layer.compression}), `}${out.stats.clamped} timestamps of ${out.stats.entries} entries clamped to ${plan.epoch}, gzipped`;
    return { descriptor: { mediaType: MediaType.OciLayerGzip, digest: out.digest, size: out.size }, diffId: out.diffId, path: out.path, note };
  }
  if (layer.compression === 'none') {
    const out = await compressLayer(layer.path, dest, { deterministic: plan.epoch !== undefined, signal: plan.signal });
    // A layer that is not what the config says would give a broken image: never send it.
    checkDiffId(out.diffId, layer.diffId, step);
    return { descriptor: { mediaType: MediaType.OciLayerGzip, digest: out.digest, size: out.size }, diffId: out.diffId, path: out.path, note: 'gzipped' };
  }
  const size = (await stat(layer.path)).size;
  const digest = layer.digest ?? (await hashFile(layer.path));
  const descriptor = { mediaType: pushedLayerMediaType(layer.compression), digest, size };
  return { descriptor, diffId: layer.diffId, path: layer.path, note: `pushed as the engine compressed it (${layer.compression})` };
}

function checkDiffId(actual: string, expected: string, step: string): void {
  if (actual !== expected) throw new SavedImageInvalidError(`${step} hashes to ${actual}, but the config says ${expected}`);
}

/** The digest of a blob whose layout does not name it (a Docker archive holding gzip). */
async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
