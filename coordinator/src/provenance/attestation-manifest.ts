import {
  ANNOTATION_DSSE_PAYLOAD_DIGEST,
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_REFERENCE_DIGEST,
  ANNOTATION_REFERENCE_TYPE,
  ATTESTATION_MANIFEST,
  ATTESTATION_PLATFORM,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_MEDIA_TYPE,
  MediaType,
  SLSA_PROVENANCE_V1,
  sha256Digest,
  type Descriptor,
  type DsseEnvelope,
  type Manifest,
} from '@archfarm/common';

/** A blob to push before the manifest that names it. */
export interface AttestationBlob {
  digest: string;
  size: number;
  bytes: Buffer;
}

/** One platform's attestation manifest: its blobs, its bytes, and its entry in the published index. */
export interface AttestationManifest {
  /** Config, statement, envelope: pushed before the manifest. */
  blobs: AttestationBlob[];
  /** The manifest's exact bytes (PUT by digest). */
  bytes: Buffer;
  /** The index entry: platform unknown/unknown, pointing at the platform manifest it describes. */
  descriptor: Descriptor;
}

/**
 * The attestation manifest of the format (buildx's layout): a config for unknown/unknown, the
 * statement layer (with its predicate-type annotation, which statement readers look for) and
 * the DSSE envelope layer over exactly those bytes. Pure.
 */
export function attestationManifest(subjectDigest: string, statement: Buffer, envelope: DsseEnvelope): AttestationManifest {
  const statementBlob = blob(statement);
  const envelopeBlob = blob(Buffer.from(JSON.stringify(envelope)));
  const config = blob(
    Buffer.from(JSON.stringify({ ...ATTESTATION_PLATFORM, config: {}, rootfs: { type: 'layers', diff_ids: [statementBlob.digest, envelopeBlob.digest] } })),
  );
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size },
    layers: [
      { mediaType: IN_TOTO_MEDIA_TYPE, digest: statementBlob.digest, size: statementBlob.size, annotations: { [ANNOTATION_PREDICATE_TYPE]: SLSA_PROVENANCE_V1 } },
      { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, digest: envelopeBlob.digest, size: envelopeBlob.size, annotations: { [ANNOTATION_DSSE_PAYLOAD_DIGEST]: statementBlob.digest } },
    ],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    blobs: [config, statementBlob, envelopeBlob],
    bytes,
    descriptor: {
      mediaType: MediaType.OciManifest,
      digest: sha256Digest(bytes),
      size: bytes.length,
      platform: { ...ATTESTATION_PLATFORM },
      annotations: { [ANNOTATION_REFERENCE_DIGEST]: subjectDigest, [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST },
    },
  };
}

function blob(bytes: Buffer): AttestationBlob {
  return { digest: sha256Digest(bytes), size: bytes.length, bytes };
}
