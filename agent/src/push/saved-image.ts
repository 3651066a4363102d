import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Platform } from '@archfarm/common';
import { readDockerArchive } from './docker-archive';
import { readOciLayout } from './oci-layout';
import type { SavedImage } from './archive-files';

export type { SavedImage, SavedLayer } from './archive-files';

/** What to pick out of an archive that holds an index of several platforms. */
export interface ReadSavedImageOptions {
  platform?: Platform;
}

/**
 * Reads an extracted `docker save` archive. Where there is an index.json (Docker 25 and
 * later, both image stores) the OCI layout is read, following nested indexes to the
 * manifest of the wanted platform; otherwise Docker 20.10's and Podman's manifest.json.
 */
export async function readSavedImage(dir: string, opts: ReadSavedImageOptions = {}): Promise<SavedImage> {
  const hasIndex = await access(resolve(dir, 'index.json')).then(
    () => true,
    () => false,
  );
  return hasIndex ? readOciLayout(dir, opts.platform) : readDockerArchive(dir);
}

