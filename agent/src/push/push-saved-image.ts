import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { x as extractTar } from 'tar';
import {
  MediaType,
  type Descriptor,
  type Logger,
  type Manifest,
  type Platform,
  type RegistryClient,
  sha256Digest,
} from '@archfarm/common';
import { compressLayer, type CompressedLayer } from './compress-layer';
import { SavedImageInvalidError } from './errors';
import { readSavedImage, type SavedImage } from './saved-image';

/** What {@link pushSavedImage} needs. */
export interface PushSavedImageOptions {
  client: RegistryClient;
  /** Repository in client's registry; nothing is tagged there. */
  repository: string;
  /** Scratch directory (under the agent's state dir); what is made in it is removed. */
  workDir: string;
  logger?: Logger;
  /** Human-readable progress lines, e.g. for the job's log. */
  onProgress?: (line: string) => void;
}

/** The image manifest pushed by digest, and the platform its config is for. */
export interface PushedImage {
  digest: string;
  mediaType: string;
  size: number;
  platform: Platform;
}

/**
 * Pushes the output of `docker save` (dockerode `image.get()`) BY DIGEST: gzips and
 * uploads each layer (skipping those the registry holds), uploads the config unchanged
 * (so the image ID stays its digest), and PUTs an OCI image manifest under its own
 * digest. Never creates a tag: the coordinator publishes the index under the tag later.
 */
export async function pushSavedImage(tarStream: Readable, opts: PushSavedImageOptions): Promise<PushedImage> {
  await mkdir(opts.workDir, { recursive: true });
  const scratch = await mkdtemp(join(opts.workDir, 'push-'));
  try {
    const imageDir = join(scratch, 'image');
    await mkdir(imageDir);
    await pipeline(tarStream, extractTar({ cwd: imageDir, strict: true, preserveOwner: false }));
    const image = await readSavedImage(imageDir);
    const layers = await pushLayers(image, scratch, opts);
    const config: Descriptor = { mediaType: MediaType.OciConfig, digest: image.configDigest, size: image.configBytes.length };
    await opts.client.uploadBlob(opts.repository, config, image.configBytes);
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = await opts.client.putManifest(opts.repository, sha256Digest(bytes), MediaType.OciManifest, bytes);
    opts.onProgress?.(`pushed ${image.platform.toString()} image ${opts.client.registry}/${opts.repository}@${digest}`);
    opts.logger?.info({ repository: opts.repository, digest, platform: image.platform.toString() }, 'pushed image by digest');
    return { digest, mediaType: MediaType.OciManifest, size: bytes.length, platform: image.platform };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Compresses and uploads the layers one at a time, deleting each file once it is sent,
 * so scratch space stays near the size of the saved image.
 */
async function pushLayers(image: SavedImage, scratch: string, opts: PushSavedImageOptions): Promise<Descriptor[]> {
  const done = new Map<string, CompressedLayer>();
  const out: Descriptor[] = [];
  for (const [i, path] of image.layerPaths.entries()) {
    const step = `layer ${i + 1}/${image.layerPaths.length}`;
    let layer = done.get(path);
    if (!layer) {
      opts.onProgress?.(`${step}: compressing`);
      layer = await compressLayer(path, join(scratch, `layer-${i}.tar.gz`));
      // A layer that is not what the config says would give a broken image: never send it.
      checkDiffId(layer, image.diffIds[i], step);
      await rm(path, { force: true });
      await uploadLayer(layer, step, opts);
      done.set(path, layer);
    }
    checkDiffId(layer, image.diffIds[i], step);
    out.push({ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size });
  }
  return out;
}

async function uploadLayer(layer: CompressedLayer, step: string, opts: PushSavedImageOptions): Promise<void> {
  const sent = await opts.client.uploadBlob(opts.repository, layer, () => createReadStream(layer.path));
  opts.onProgress?.(`${step}: ${sent ? `uploaded ${layer.digest} (${layer.size} bytes)` : `${layer.digest} already in the registry`}`);
  await rm(layer.path, { force: true });
}

function checkDiffId(layer: CompressedLayer, expected: string | undefined, step: string): void {
  if (layer.diffId !== expected) {
    throw new SavedImageInvalidError(`${step} hashes to ${layer.diffId}, but the config says ${expected ?? 'nothing'}`);
  }
}
