import {
  ArchfarmError,
  BlobNotFoundError,
  ContentTooLargeError,
  DigestMismatchError,
  DSSE_ENVELOPE_MEDIA_TYPE,
  errorMessage,
  IN_TOTO_MEDIA_TYPE,
  InvalidInputError,
  isIndexMediaType,
  ManifestNotFoundError,
  RegistryProtocolError,
  RegistryRequestError,
  type ImageRef,
  type Index,
  type RegistryClient,
} from '@archfarm/common';
import { isSigned, manifestLayers } from './verify-attestation';
import { NotAnIndexError } from './verify-errors';
import { isAttestationEntry, type Fetched, type VerifyMaterial } from './verify-material';

/** A statement or envelope larger than this is no archfarm provenance; it is not read. */
const MAX_LAYER_BYTES = 4 * 1024 * 1024;

/**
 * Reads REF's index and, for each attestation manifest it lists, the manifest and, when it
 * carries a DSSE envelope, its statement and envelope layers. Throws only when REF itself
 * cannot be read (or is no index); a missing or altered piece below it is kept as a reason.
 */
export async function fetchVerifyMaterial(client: RegistryClient, ref: ImageRef): Promise<VerifyMaterial> {
  const top = await client.getManifest(ref.repository, ref.reference);
  if (!isIndexMediaType(top.mediaType)) throw new NotAnIndexError(ref.toString(), top.mediaType);
  const index = top.json as Index;
  if (!Array.isArray(index.manifests)) throw new NotAnIndexError(ref.toString(), top.mediaType);
  const attestations = index.manifests.filter(isAttestationEntry);
  const manifests = new Map<string, Fetched<unknown>>();
  await Promise.all(
    attestations.map(async (entry) => {
      manifests.set(entry.digest, await fetched(async () => (await client.getManifest(ref.repository, entry.digest)).json));
    }),
  );
  const layers = new Set<string>();
  for (const m of manifests.values()) if (m.ok) for (const digest of provenanceLayers(m.value)) layers.add(digest);
  const blobs = new Map<string, Fetched<Buffer>>();
  await Promise.all(
    [...layers].map(async (digest) => {
      blobs.set(digest, await fetched(() => client.getBlob(ref.repository, digest, MAX_LAYER_BYTES)));
    }),
  );
  return { ref: ref.toString(), indexDigest: top.digest, index, manifests, blobs };
}

/** The statement and envelope layers of a manifest that carries a DSSE envelope; none otherwise. */
function provenanceLayers(json: unknown): string[] {
  const layers = manifestLayers(json);
  if (!layers || !isSigned(layers)) return [];
  return layers.filter((l) => l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE || l.mediaType === IN_TOTO_MEDIA_TYPE).map((l) => l.digest);
}

/**
 * What the registry says of one piece: missing, too large, not its digest, malformed or
 * refused (a 4xx) are reasons kept for the verdict; anything else (unreachable, 5xx, auth)
 * is thrown, since the verdict would be about the registry, not the image.
 */
async function fetched<T>(read: () => Promise<T>): Promise<Fetched<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    const kept = [InvalidInputError, ManifestNotFoundError, BlobNotFoundError, DigestMismatchError, ContentTooLargeError, RegistryProtocolError, RegistryRequestError];
    if (err instanceof ArchfarmError && kept.some((k) => err instanceof k)) return { ok: false, reason: errorMessage(err) };
    throw err;
  }
}
