import { MediaType, type Descriptor, type Index, type OciPlatform, type Platform } from '@archfarm/common';

/** One platform's image as it goes into the published index. */
export interface IndexEntry {
  platform: Platform;
  /** The platform's image manifest (never an index, never an attestation). */
  manifest: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>;
}

/**
 * The platform object of an index entry. arm64 is written with variant "v8", as Docker's
 * official images and archfarm's own base image do: containerd treats "v8" and no
 * variant as equal, and older clients that compare the variant literally expect "v8".
 * Other architectures carry the variant Platform keeps (arm/v7, ...) or none.
 */
export function ociPlatform(platform: Platform): OciPlatform {
  const variant = platform.variant ?? (platform.architecture === 'arm64' ? 'v8' : undefined);
  return variant === undefined
    ? { architecture: platform.architecture, os: platform.os }
    : { architecture: platform.architecture, os: platform.os, variant };
}

/**
 * The bytes of an OCI image index listing `entries` in the given order. These exact bytes
 * are PUT, so their sha256 is the digest the tag will resolve to.
 */
export function buildImageIndex(entries: readonly IndexEntry[]): Buffer {
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: entries.map(({ platform, manifest }) => ({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.size,
      platform: ociPlatform(platform),
    })),
  };
  return Buffer.from(JSON.stringify(index));
}
