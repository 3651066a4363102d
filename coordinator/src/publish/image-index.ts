import { MediaType, type Descriptor, type Index, type OciPlatform, type Platform } from '@archfarm/common';

/** One platform's image as it goes into the published index. */
export interface IndexEntry {
  platform: Platform;
  /** The platform's image manifest (never an index, never an attestation). */
  manifest: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>;
  /** The descriptor's annotations (--annotation manifest-descriptor:, the farm's per-child record). */
  annotations?: Readonly<Record<string, string>>;
  /**
   * Attestation manifests of this platform's image (platform unknown/unknown, annotated with
   * the image's digest): the farm's own provenance, and any the agent's engine pushed with it.
   */
  attestations?: readonly Descriptor[];
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
 * The bytes of an OCI image index listing `entries` in the given order, then their
 * attestation manifests in the same order (buildx's layout), with `annotations`
 * on the index itself. These exact bytes are PUT, so their sha256 is the digest the tags
 * will resolve to; annotation keys are sorted so the same input always gives the same bytes.
 * Empty annotation maps are left out, as the image spec's examples do.
 */
export function buildImageIndex(entries: readonly IndexEntry[], annotations: Readonly<Record<string, string>> = {}): Buffer {
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      ...entries.map(({ platform, manifest, annotations: own = {} }) => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        platform: ociPlatform(platform),
        ...withAnnotations(own),
      })),
      ...entries.flatMap((e) => (e.attestations ?? []).map(attestationEntry)),
    ],
    ...withAnnotations(annotations),
  };
  return Buffer.from(JSON.stringify(index));
}

/** An attestation's descriptor as the index lists it: the fields of the image spec, annotation keys sorted. */
function attestationEntry({ mediaType, digest, size, platform, annotations = {} }: Descriptor): Descriptor {
  return { mediaType, digest, size, ...(platform ? { platform } : {}), ...withAnnotations(annotations) };
}

function withAnnotations(annotations: Readonly<Record<string, string>>): { annotations?: Record<string, string> } {
  const keys = Object.keys(annotations).sort();
  return keys.length === 0 ? {} : { annotations: Object.fromEntries(keys.map((k) => [k, annotations[k]!])) };
}
