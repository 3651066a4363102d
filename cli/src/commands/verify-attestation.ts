import type { KeyObject } from 'node:crypto';
import {
  ANNOTATION_DSSE_PAYLOAD_DIGEST,
  DSSE_ENVELOPE_MEDIA_TYPE,
  EnvelopeInvalidError,
  IN_TOTO_MEDIA_TYPE,
  parseStatement,
  Platform,
  SignatureInvalidError,
  SignatureMissingError,
  StatementInvalidError,
  verifyEnvelope,
  type Descriptor,
  type ProvenanceStatement,
} from '@archfarm/common';
import type { Fetched } from './verify-material';
import type { Problem } from './verify-report';

/** One attestation manifest's outcome: the statement when it is signed by the key and is this image's. */
export type AttestationCheck = { ok: true; statement: ProvenanceStatement } | { ok: false; problem: Problem };

/** The layers of an attestation manifest, when it has the shape of one (layers as descriptors). */
export function manifestLayers(json: unknown): Descriptor[] | undefined {
  const layers = (json as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) return undefined;
  const ok = layers.every((l) => typeof (l as Descriptor | null)?.digest === 'string' && typeof (l as Descriptor).mediaType === 'string');
  return ok ? (layers as Descriptor[]) : undefined;
}

/** True for an attestation manifest that carries a DSSE envelope (archfarm's; buildx's carry none). */
export function isSigned(layers: readonly Descriptor[]): boolean {
  return layers.some((l) => l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE);
}

/**
 * Checks a signed attestation manifest's layers against the key and the platform manifest it
 * claims to describe: layer 1 the statement, the envelope signing exactly its bytes (and
 * naming its digest), a signature by the key, in-toto v1 with SLSA provenance v1, the subject
 * the manifest's digest and the recorded platform the index entry's. Pure.
 */
export function checkAttestation(
  layers: readonly Descriptor[],
  blobs: ReadonlyMap<string, Fetched<Buffer>>,
  key: KeyObject,
  image: { digest: string; platform: Platform | undefined },
): AttestationCheck {
  const fail = (code: Problem['code'], message: string): AttestationCheck => ({ ok: false, problem: { code, message } });
  const statementLayer = layers[0];
  const envelopeLayer = layers.find((l) => l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE);
  if (statementLayer?.mediaType !== IN_TOTO_MEDIA_TYPE || !envelopeLayer) {
    return fail('ATTESTATION_MALFORMED', `its first layer is ${statementLayer?.mediaType ?? 'missing'}, not the ${IN_TOTO_MEDIA_TYPE} statement`);
  }
  const named = envelopeLayer.annotations?.[ANNOTATION_DSSE_PAYLOAD_DIGEST];
  if (named !== statementLayer.digest) {
    return fail('PAYLOAD_MISMATCH', `the envelope layer names ${named ?? 'no'} payload digest, not the statement layer's ${statementLayer.digest}`);
  }
  const statementBytes = blobs.get(statementLayer.digest);
  const envelopeBytes = blobs.get(envelopeLayer.digest);
  if (!statementBytes?.ok) return fail('ATTESTATION_UNREADABLE', `its statement layer: ${statementBytes?.reason ?? 'not fetched'}`);
  if (!envelopeBytes?.ok) return fail('ATTESTATION_UNREADABLE', `its envelope layer: ${envelopeBytes?.reason ?? 'not fetched'}`);
  let payload: Buffer;
  try {
    payload = verifyEnvelope(envelopeBytes.value, key);
  } catch (err) {
    if (err instanceof SignatureMissingError || err instanceof SignatureInvalidError || err instanceof EnvelopeInvalidError) return fail(err.code, err.message);
    throw err;
  }
  if (!payload.equals(statementBytes.value)) return fail('PAYLOAD_MISMATCH', 'the envelope signs other bytes than its statement layer holds');
  let statement: ProvenanceStatement;
  try {
    statement = parseStatement(payload);
  } catch (err) {
    if (err instanceof StatementInvalidError) return fail('STATEMENT_INVALID', err.message);
    throw err;
  }
  const subjects = statement.subject.map((s) => `sha256:${s.digest.sha256}`);
  if (!subjects.includes(image.digest)) {
    return fail('SUBJECT_MISMATCH', `the signed statement is about ${subjects.join(', ')}, not this platform's manifest ${image.digest}`);
  }
  const recorded = recordedPlatform(statement);
  if (image.platform && !(recorded && recorded.equals(image.platform))) {
    return fail('SUBJECT_MISMATCH', `the signed statement records platform ${recorded?.toString() ?? 'none'}, not ${image.platform.toString()}`);
  }
  return { ok: true, statement };
}

/** externalParameters.platform, normalised; undefined when absent or not a platform. */
function recordedPlatform(statement: ProvenanceStatement): Platform | undefined {
  const text = (statement.predicate.buildDefinition as { externalParameters?: { platform?: unknown } } | undefined)?.externalParameters?.platform;
  if (typeof text !== 'string') return undefined;
  try {
    return Platform.parse(text);
  } catch {
    return undefined;
  }
}
