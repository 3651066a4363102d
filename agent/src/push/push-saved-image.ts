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
  errorMessage,
  sha256Digest,
} from '@archfarm/common';
import { classify } from '../engine/failure-cause';
import { classifyThrown, failureError } from '../engine/failure-error';
import { SavedImageInvalidError } from './errors';
import { prepareLayer, type LayerPlan, type PreparedLayer } from './prepare-layer';
import { readSavedImage, type SavedImage } from './saved-image';
import { clampConfig } from './source-date-epoch';

/** What {@link pushSavedImage} needs. */
export interface PushSavedImageOptions extends LayerPlan {
  client: RegistryClient;
  /** Repository in client's registry; nothing is tagged there. */
  repository: string;
  /** Scratch directory (under the agent's state dir); what is made in it is removed. */
  workDir: string;
  /**
   * The platform the job built: picks the manifest when the archive holds an index of
   * several (a pulled multi-platform image on the containerd image store).
   */
  platform?: Platform;
  /**
   * Annotations of the pushed manifest (`--annotation manifest:K=V`). An empty record or
   * none writes no `annotations` field, so such a manifest's bytes are today's.
   */
  annotations?: Readonly<Record<string, string>>;
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
  /** The pushed config's digest: the engine's image ID unless SOURCE_DATE_EPOCH changed it. */
  configDigest: string;
}

/**
 * Pushes the output of `docker save` (either layout, see {@link readSavedImage}) BY DIGEST:
 * uploads each layer (gzipping plain tars, sending compressed blobs as they are, or with
 * `epoch` rewriting timestamps; skipping those the registry holds), the config (unchanged
 * unless the epoch changes it), and an OCI image manifest under its own digest. OCI rather
 * than Docker's schema2 because only OCI has zstd layers and manifest annotations. Never
 * creates a tag: the coordinator publishes the index under the tag later.
 */
export async function pushSavedImage(tarStream: Readable, opts: PushSavedImageOptions): Promise<PushedImage> {
  await mkdir(opts.workDir, { recursive: true });
  const scratch = await mkdtemp(join(opts.workDir, 'push-'));
  try {
    const imageDir = join(scratch, 'image');
    await mkdir(imageDir);
    await pipeline(tarStream, extractTar({ cwd: imageDir, strict: true, preserveOwner: false }), { signal: opts.signal }).catch((err: unknown) => {
      throw savedStreamError(err);
    });
    const image = await readSavedImage(imageDir, { platform: opts.platform });
    const layers = await pushLayers(image, scratch, opts);
    const configBytes = opts.epoch === undefined ? image.configBytes : clampConfig(image.configBytes, layers.map((l) => l.diffId), opts.epoch);
    const config: Descriptor = { mediaType: MediaType.OciConfig, digest: sha256Digest(configBytes), size: configBytes.length };
    await opts.client.uploadBlob(opts.repository, config, configBytes);
    const bytes = Buffer.from(JSON.stringify(manifestOf(config, layers, opts.annotations)));
    const digest = await opts.client.putManifest(opts.repository, sha256Digest(bytes), MediaType.OciManifest, bytes);
    const platform = image.platform.toString();
    opts.onProgress?.(`pushed ${platform} image ${opts.client.registry}/${opts.repository}@${digest}`);
    opts.logger?.info({ repository: opts.repository, digest, platform, layout: image.layout, epoch: opts.epoch }, 'pushed image by digest');
    return { digest, mediaType: MediaType.OciManifest, size: bytes.length, platform: image.platform, configDigest: config.digest };
  } catch (err) {
    throw classifyThrown(err); // the work dir's disk may fill at any layer
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * A failure while reading the engine's `docker save` stream into the work dir, by its errno
 * (the engine went away, the disk is full); the tar parser's own complaints pass unchanged.
 */
function savedStreamError(err: unknown): unknown {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return err;
  const failure = { text: errorMessage(err), errno: code, ...(typeof syscall === 'string' ? { syscall } : {}) };
  const kind = classify(failure, { stage: 'push' }).kind;
  return kind === 'infrastructure' ? failureError(failure, { stage: 'push' }, { cause: err }) : err;
}

/** The manifest; annotations sorted by key, so the same set always gives the same bytes. */
export function manifestOf(config: Descriptor, layers: PreparedLayer[], annotations: Readonly<Record<string, string>> = {}): Manifest {
  const keys = Object.keys(annotations).sort();
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: layers.map((l) => l.descriptor) };
  if (keys.length > 0) manifest.annotations = Object.fromEntries(keys.map((k) => [k, annotations[k]!]));
  return manifest;
}

/**
 * Prepares and uploads the layers one at a time, deleting each file once it is sent, so
 * scratch space stays near the size of the saved image. A layer repeated in the image is
 * prepared once.
 */
async function pushLayers(image: SavedImage, scratch: string, opts: PushSavedImageOptions): Promise<PreparedLayer[]> {
  const done = new Map<string, { prepared: PreparedLayer; savedDiffId: string }>();
  const out: PreparedLayer[] = [];
  for (const [i, layer] of image.layers.entries()) {
    opts.signal?.throwIfAborted();
    const step = `layer ${i + 1}/${image.layers.length}`;
    const seen = done.get(layer.path);
    if (seen && seen.savedDiffId !== layer.diffId) {
      throw new SavedImageInvalidError(`${step} is the file of an earlier layer, but the config gives it another diff_id`);
    }
    let prepared = seen?.prepared;
    if (!prepared) {
      opts.onProgress?.(`${step}: ${opts.epoch !== undefined || layer.compression === 'none' ? 'compressing' : 'reading'}`);
      prepared = await prepareLayer(layer, join(scratch, `layer-${i}.tar.gz`), opts, step);
      if (prepared.path !== layer.path) await rm(layer.path, { force: true });
      opts.onProgress?.(`${step}: ${prepared.note}`);
      await uploadLayer(prepared, step, opts);
      done.set(layer.path, { prepared, savedDiffId: layer.diffId });
    }
    out.push(prepared);
  }
  return out;
}

async function uploadLayer(layer: PreparedLayer, step: string, opts: PushSavedImageOptions): Promise<void> {
  const { digest, size } = layer.descriptor;
  const sent = await opts.client.uploadBlob(opts.repository, { digest, size }, () => createReadStream(layer.path));
  opts.onProgress?.(`${step}: ${sent ? `uploaded ${digest} (${size} bytes)` : `${digest} already in the registry`}`);
  await rm(layer.path, { force: true });
}
