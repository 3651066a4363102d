import { readFile, realpath } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { Platform, sha256Digest, type ImageConfig } from '@archfarm/common';
import { SavedImageInvalidError } from './errors';

/** An image as `docker save` lays it out on disk, checked and ready to push. */
export interface SavedImage {
  /** The config file's bytes, unchanged: their digest is the image ID. */
  configBytes: Buffer;
  configDigest: string;
  platform: Platform;
  /** The diff_ids of the config, one per layer, in order. */
  diffIds: string[];
  /** Absolute paths of the uncompressed layer tars, bottom layer first. */
  layerPaths: string[];
}

interface SaveManifestEntry {
  Config?: unknown;
  Layers?: unknown;
}

/**
 * Reads manifest.json and the config of an extracted `docker save` archive (Docker 20.10:
 * `<id>.json` config and `<dir>/layer.tar` layers; newer engines: `blobs/sha256/<hex>`).
 */
export async function readSavedImage(dir: string): Promise<SavedImage> {
  const entries = await readJson<SaveManifestEntry[]>(dir, 'manifest.json');
  if (!Array.isArray(entries) || entries.length !== 1) {
    throw new SavedImageInvalidError(`manifest.json must describe exactly one image, not ${Array.isArray(entries) ? entries.length : 'none'}`);
  }
  const entry = entries[0]!;
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
    throw new SavedImageInvalidError('manifest.json lacks Config or Layers');
  }
  const configPath = inside(dir, entry.Config);
  const configBytes = await readFile(configPath).catch((err: unknown) => {
    throw new SavedImageInvalidError(`cannot read the config ${entry.Config as string}`, { cause: err });
  });
  const configDigest = sha256Digest(configBytes);
  // Its file name is the image ID; a different hash means the archive is damaged.
  const named = basename(entry.Config).replace(/\.json$/, '');
  if (/^[a-f0-9]{64}$/.test(named) && `sha256:${named}` !== configDigest) {
    throw new SavedImageInvalidError(`config ${entry.Config} hashes to ${configDigest}`);
  }
  const config = parseConfig(configBytes);
  const layerPaths = await Promise.all((entry.Layers as string[]).map((layer) => realLayerPath(dir, layer)));
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layerPaths.length) {
    throw new SavedImageInvalidError(`config lists ${diffIds.length} diff_ids for ${layerPaths.length} layers`);
  }
  return { configBytes, configDigest, platform: platformOf(config), diffIds, layerPaths };
}

async function readJson<T>(dir: string, file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(inside(dir, file), 'utf8')) as T;
  } catch (err) {
    throw new SavedImageInvalidError(`cannot read ${file} as JSON`, { cause: err });
  }
}

function parseConfig(bytes: Buffer): ImageConfig {
  try {
    const config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    if (typeof config.os === 'string' && typeof config.architecture === 'string') return config;
  } catch (err) {
    throw new SavedImageInvalidError('the image config is not JSON', { cause: err });
  }
  throw new SavedImageInvalidError('the image config has no os or architecture');
}

function platformOf(config: ImageConfig): Platform {
  try {
    return Platform.of(config.os, config.architecture, config.variant || undefined);
  } catch (err) {
    throw new SavedImageInvalidError(`the image config names an unknown platform: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The real path of a layer: engines link a repeated layer to its first copy, and the
 * pusher compresses each real file once. A link out of the archive is refused.
 */
async function realLayerPath(dir: string, layer: string): Promise<string> {
  const named = inside(dir, layer);
  let real: string;
  try {
    real = await realpath(named);
  } catch (err) {
    throw new SavedImageInvalidError(`layer ${layer} named by manifest.json is missing`, { cause: err });
  }
  return inside(await realpath(dir), real);
}

/** Resolves a path named by manifest.json, refusing any that leaves the archive. */
function inside(dir: string, path: string): string {
  const full = resolve(dir, path);
  const rel = relative(dir, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new SavedImageInvalidError(`manifest.json names "${path}", outside the archive`);
  }
  return full;
}
