import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256Digest } from '@archfarm/common';
import { describeImage, inside, readJson, type SavedImage } from './archive-files';
import { SavedImageInvalidError } from './errors';

interface SaveManifestEntry {
  Config?: unknown;
  Layers?: unknown;
}

/**
 * Reads the manifest.json layout of `docker save` (Docker 20.10, Podman): a `<id>.json`
 * config and `<dir>/layer.tar` layers, uncompressed, a repeated layer linked to its first copy.
 */
export async function readDockerArchive(dir: string): Promise<SavedImage> {
  const entries = await readJson<SaveManifestEntry[]>(dir, 'manifest.json');
  if (!Array.isArray(entries) || entries.length !== 1) {
    throw new SavedImageInvalidError(`manifest.json must describe exactly one image, not ${Array.isArray(entries) ? entries.length : 'none'}`);
  }
  const entry = entries[0]!;
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
    throw new SavedImageInvalidError('manifest.json lacks Config or Layers');
  }
  const configName = entry.Config;
  const configBytes = await readFile(inside(dir, configName)).catch((err: unknown) => {
    throw new SavedImageInvalidError(`cannot read the config ${configName}`, { cause: err });
  });
  const configDigest = sha256Digest(configBytes);
  // Its file name is the image ID; a different hash means the archive is damaged.
  const named = basename(configName).replace(/\.json$/, '');
  if (/^[a-f0-9]{64}$/.test(named) && `sha256:${named}` !== configDigest) {
    throw new SavedImageInvalidError(`config ${configName} hashes to ${configDigest}`);
  }
  const files = (entry.Layers as string[]).map((path) => ({ path }));
  return describeImage(dir, 'docker-archive', configBytes, configDigest, files);
}
