import { ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST, type Descriptor, type Index } from '@archfarm/common';

/** A piece read from the registry, or why it could not be (missing, too large, not its digest). */
export type Fetched<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Everything `archfarm verify` reads from the registry for one REF, gathered before any
 * decision: the index and, for each attestation manifest it lists, that manifest and its
 * statement and envelope layers. A piece that cannot be read is kept as its reason, so the
 * decision can name the platform it belongs to; only a registry that cannot be reached at
 * all stops the fetch.
 */
export interface VerifyMaterial {
  /** REF as the user gave it, normalised (registry/repository:tag). */
  readonly ref: string;
  readonly indexDigest: string;
  readonly index: Index;
  /** Attestation manifests by digest, as parsed JSON (the decision checks their shape). */
  readonly manifests: ReadonlyMap<string, Fetched<unknown>>;
  /** Statement and envelope layers by digest, their bytes checked against the digest. */
  readonly blobs: ReadonlyMap<string, Fetched<Buffer>>;
}

/** An index entry that is an attestation manifest (BuildKit's annotation), not an image. */
export function isAttestationEntry(entry: Descriptor): boolean {
  return entry.annotations?.[ANNOTATION_REFERENCE_TYPE] === ATTESTATION_MANIFEST;
}
