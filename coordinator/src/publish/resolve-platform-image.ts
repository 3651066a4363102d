import {
  ANNOTATION_REFERENCE_DIGEST,
  ANNOTATION_REFERENCE_TYPE,
  ATTESTATION_MANIFEST,
  isImageManifestMediaType,
  isIndexMediaType,
  ManifestNotFoundError,
  MediaType,
  type Descriptor,
  type FetchedManifest,
  type ImageConfig,
  type Index,
  type Logger,
  type Manifest,
  type Platform,
  type RegistryClient,
} from '@archfarm/common';
import { PlatformImageMissingError, PlatformMismatchError, UnsupportedManifestError } from './errors';
import type { IndexEntry } from './image-index';
import { describeIndex, describePlatform, platformOf, selectPlatformEntry } from './platform-select';

/** Image configs hold history and env; a few MiB is already far more than a real one. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Where the images are and how to reach them. */
export interface ImageSource {
  client: RegistryClient;
  repository: string;
  logger?: Logger;
}

/**
 * Finds the image manifest an agent pushed for `platform` under `digest` and checks that
 * its config really is for that platform. A newer engine may have pushed an index (a
 * platform manifest plus BuildKit's attestation manifest): its entry for the platform is used,
 * and the attestation manifests that index lists for that entry are kept with it.
 */
export async function resolvePlatformImage(source: ImageSource, platform: Platform, digest: string): Promise<IndexEntry> {
  const name = `${source.client.registry}/${source.repository}`;
  let manifest = await fetchOrMissing(source, platform, digest, 'no manifest with that digest was pushed');
  let attestations: Descriptor[] = [];
  if (isIndexMediaType(manifest.mediaType)) {
    const entries = (manifest.json as Partial<Index>).manifests ?? [];
    const entry = selectPlatformEntry(entries, platform);
    if (!entry) throw new PlatformMismatchError(platform, describeIndex(entries), digest, name);
    source.logger?.debug({ platform: platform.toString(), index: digest, manifest: entry.digest }, 'using the platform entry of a pushed index');
    manifest = await fetchOrMissing(source, platform, entry.digest, `index ${digest} lists it for ${platform.toString()} but it is not there`);
    attestations = attestationsOf(entries, entry.digest);
  }
  if (!isImageManifestMediaType(manifest.mediaType)) {
    throw new UnsupportedManifestError(platform, manifest.digest, name, manifest.mediaType, 'expected an OCI or Docker schema2 image manifest');
  }
  await checkConfigPlatform(source, platform, manifest, name);
  return { platform, manifest: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size }, ...(attestations.length > 0 ? { attestations } : {}) };
}

/** The entries of a pushed index that attest the image `digest` (BuildKit's provenance or SBOM). */
function attestationsOf(entries: readonly Descriptor[], digest: string): Descriptor[] {
  return entries.filter((e) => e.annotations?.[ANNOTATION_REFERENCE_TYPE] === ATTESTATION_MANIFEST && e.annotations[ANNOTATION_REFERENCE_DIGEST] === digest);
}

async function fetchOrMissing(source: ImageSource, platform: Platform, digest: string, detail: string): Promise<FetchedManifest> {
  try {
    return await source.client.getManifest(source.repository, digest);
  } catch (err) {
    if (err instanceof ManifestNotFoundError) {
      throw new PlatformImageMissingError(platform, digest, `${source.client.registry}/${source.repository}`, detail, { cause: err });
    }
    throw err;
  }
}

/** The config's os/architecture/variant must be the platform asked for (after normalising). */
async function checkConfigPlatform(source: ImageSource, platform: Platform, manifest: FetchedManifest, name: string): Promise<void> {
  const config: Partial<Descriptor> | undefined = (manifest.json as Partial<Manifest>).config;
  if (typeof config?.digest !== 'string') {
    throw new UnsupportedManifestError(platform, manifest.digest, name, manifest.mediaType, 'it has no config descriptor');
  }
  if (config.mediaType !== MediaType.OciConfig && config.mediaType !== MediaType.DockerConfig) {
    throw new UnsupportedManifestError(platform, manifest.digest, name, manifest.mediaType, `its config is ${String(config.mediaType)}, not an image config`);
  }
  const bytes = await source.client.getBlob(source.repository, config.digest, MAX_CONFIG_BYTES);
  let fields: Partial<ImageConfig>;
  try {
    fields = JSON.parse(bytes.toString('utf8')) as Partial<ImageConfig>;
  } catch {
    throw new UnsupportedManifestError(platform, manifest.digest, name, manifest.mediaType, `its config ${config.digest} is not JSON`);
  }
  const found = platformOf(fields);
  if (!found || !found.equals(platform)) {
    throw new PlatformMismatchError(platform, describePlatform(fields), manifest.digest, name);
  }
}
