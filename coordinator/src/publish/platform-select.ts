import {
  ANNOTATION_REFERENCE_TYPE,
  ATTESTATION_MANIFEST,
  Platform,
  type Descriptor,
  type OciPlatform,
} from '@archfarm/common';

/** The fields of an index entry or image config that say which platform it is for. */
export type PlatformFields = Partial<Pick<OciPlatform, 'os' | 'architecture' | 'variant'>>;

/**
 * The normal-form platform of an index entry or a config, or undefined when it names none
 * archfarm knows (attestations say unknown/unknown). Goes through Platform.of, so
 * arm64 with variant v8 or none, and aarch64, are all the same platform.
 */
export function platformOf(fields: PlatformFields | undefined): Platform | undefined {
  if (!fields || typeof fields.os !== 'string' || typeof fields.architecture !== 'string') return undefined;
  try {
    return Platform.of(fields.os, fields.architecture, fields.variant || undefined);
  } catch {
    return undefined;
  }
}

/** How a platform shows in messages, as the image wrote it: "linux/arm64/v8", "unknown/unknown". */
export function describePlatform(fields: PlatformFields | undefined): string {
  if (!fields) return 'no platform';
  return [fields.os ?? '?', fields.architecture ?? '?', fields.variant].filter(Boolean).join('/');
}

/** True for BuildKit's attestation manifests, which are never an image to run. */
export function isAttestation(entry: Descriptor): boolean {
  return entry.annotations?.[ANNOTATION_REFERENCE_TYPE] === ATTESTATION_MANIFEST;
}

/**
 * The entry of an index (pushed by a newer engine) that is the image for `wanted`: the
 * first entry whose platform matches, skipping attestations and unknown/unknown entries.
 * Undefined when there is none.
 */
export function selectPlatformEntry(manifests: readonly Descriptor[], wanted: Platform): Descriptor | undefined {
  return manifests.find((entry) => {
    if (isAttestation(entry)) return false;
    const platform = platformOf(entry.platform);
    return platform !== undefined && platform.equals(wanted);
  });
}

/** "an index of linux/amd64, unknown/unknown": what an index offers, for error messages. */
export function describeIndex(manifests: readonly Descriptor[]): string {
  const listed = manifests.map((m) => describePlatform(m.platform));
  return listed.length ? `an index of ${listed.join(', ')}` : 'an empty index';
}
