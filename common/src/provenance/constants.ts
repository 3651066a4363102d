/**
 * The names of archfarm's provenance format (/work/notes/provenance-format.md): media types,
 * annotations and URIs written by the coordinator and read by `archfarm verify`.
 */

/** Media type of layer 1 of an attestation manifest (the in-toto statement), and the DSSE payloadType. */
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
/** Media type of layer 2 of an attestation manifest (the DSSE envelope over layer 1). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** The DSSE payloadType of an envelope over an in-toto statement. */
export const DSSE_PAYLOAD_TYPE = IN_TOTO_MEDIA_TYPE;

/** Layer annotation naming the predicate a statement layer carries (what buildx writes). */
export const ANNOTATION_PREDICATE_TYPE = 'in-toto.io/predicate-type';
/** Layer annotation on the envelope layer: the digest of the statement layer it signs. */
export const ANNOTATION_DSSE_PAYLOAD_DIGEST = 'io.archfarm.dsse.payload-digest';

/** The in-toto statement type archfarm writes. */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** The SLSA provenance predicate type archfarm writes. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** buildDefinition.buildType of an archfarm build. */
export const ARCHFARM_BUILD_TYPE = 'https://archfarm.dev/provenance/build/v1';
/** runDetails.builder.id is this followed by the coordinator's id. */
export const ARCHFARM_BUILDER_ID_PREFIX = 'https://archfarm.dev/coordinator/';

/** The platform of an attestation manifest's index entry and config: it is no image to run. */
export const ATTESTATION_PLATFORM = { architecture: 'unknown', os: 'unknown' } as const;
