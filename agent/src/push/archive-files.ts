import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Platform, type ImageConfig } from '@archfarm/common';
import { SavedImageInvalidError } from './errors';
import { sniffCompression, type LayerCompression } from './layer-compression';

/** One layer of a saved image, as the engine stored it. */
export interface SavedLayer {
  /** Absolute real path of the file; a layer repeated in the image has one path. */
  path: string;
  /** How the file is stored, from its first bytes. */
  compression: LayerCompression;
  /** The config's diff_id for this layer: the digest of the uncompressed tar. */
  diffId: string;
  /** The file's digest where the layout names it (OCI layouts, by blob name). */
  digest?: string;
}

/** An image as `docker save` lays it out on disk, checked and ready to push. */
export interface SavedImage {
  /** The config file's bytes, unchanged: their digest is the image ID. */
  configBytes: Buffer;
  configDigest: string;
  platform: Platform;
  /** Bottom layer first. */
  layers: SavedLayer[];
  /** Docker 20.10's manifest.json with `<dir>/layer.tar`, or an OCI layout (Docker 25 and later). */
  layout: 'docker-archive' | 'oci-layout';
}

/** The parts of a SavedImage both layouts share, from the config and the layer files. */
export async function describeImage(
  dir: string,
  layout: SavedImage['layout'],
  configBytes: Buffer,
  configDigest: string,
  files: { path: string; digest?: string }[],
): Promise<SavedImage> {
  const config = parseConfig(configBytes);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== files.length) {
    throw new SavedImageInvalidError(`config lists ${diffIds.length} diff_ids for ${files.length} layers`);
  }
  const layers = await Promise.all(
    files.map(async (file, i): Promise<SavedLayer> => {
      const path = await realLayerPath(dir, file.path);
      return { path, compression: await sniffCompression(path), diffId: diffIds[i]!, ...(file.digest && { digest: file.digest }) };
    }),
  );
  return { configBytes, configDigest, platform: platformOf(config), layers, layout };
}

export async function readJson<T>(dir: string, file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(inside(dir, file), 'utf8')) as T;
  } catch (err) {
    throw new SavedImageInvalidError(`cannot read ${file} as JSON`, { cause: err });
  }
}

export function parseConfig(bytes: Buffer): ImageConfig {
  try {
    const config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    if (typeof config.os === 'string' && typeof config.architecture === 'string') return config;
  } catch (err) {
    throw new SavedImageInvalidError('the image config is not JSON', { cause: err });
  }
  throw new SavedImageInvalidError('the image config has no os or architecture');
}

export function platformOf(config: { os: string; architecture: string; variant?: string }): Platform {
  try {
    return Platform.of(config.os, config.architecture, config.variant || undefined);
  } catch (err) {
    throw new SavedImageInvalidError(`the image config names an unknown platform: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The real path of a layer: engines link a repeated layer to its first copy, and the
 * pusher handles each real file once. A link out of the archive is refused.
 */
async function realLayerPath(dir: string, layer: string): Promise<string> {
  const named = inside(dir, layer);
  let real: string;
  try {
    real = await realpath(named);
  } catch (err) {
    throw new SavedImageInvalidError(`layer ${layer} is missing from the archive`, { cause: err });
  }
  return inside(await realpath(dir), real);
}

/** Resolves a path named inside the archive, refusing any that leaves it. */
export function inside(dir: string, path: string): string {
  const full = resolve(dir, path);
  const rel = relative(dir, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new SavedImageInvalidError(`the archive names "${path}", outside the archive`);
  }
  return full;
}
