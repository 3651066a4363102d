/**
 * What `archfarm verify` concludes, per platform and for REF as a whole: the shapes of its
 * `--output json` (extend, never rename), built by verify-decide.ts and printed by verify-output.ts.
 */

/** Why something did not verify; stable, for scripts reading `problems[].code`. */
export type ProblemCode =
  /** No signed attestation names the platform's manifest, or its envelope has no signature. */
  | 'SIGNATURE_MISSING'
  /** No signature verifies against the key: another key signed it, or bytes were changed. */
  | 'SIGNATURE_INVALID'
  /** The DSSE envelope is not one (not JSON, another payloadType, no base64). */
  | 'ENVELOPE_INVALID'
  /** The attestation manifest or one of its layers could not be read (missing, not its digest). */
  | 'ATTESTATION_UNREADABLE'
  /** The attestation manifest is not of the format (no statement layer first, no envelope). */
  | 'ATTESTATION_MALFORMED'
  /** The envelope signs other bytes than the statement layer holds, or names another layer. */
  | 'PAYLOAD_MISMATCH'
  /** The signed statement is not in-toto v1 with an SLSA provenance v1 predicate. */
  | 'STATEMENT_INVALID'
  /** The statement is about another manifest (or platform) than the one the index lists. */
  | 'SUBJECT_MISMATCH'
  /** --require-native named the platform, and it was not (provably) built natively. */
  | 'NOT_NATIVE'
  /** --require-native named a platform that REF's index does not have. */
  | 'PLATFORM_MISSING';

export interface Problem {
  code: ProblemCode;
  message: string;
}

/** A base image as the statement records it: its reference, digest and Dockerfile stage. */
export interface BaseJson {
  uri: string;
  digest: string;
  stage: string;
}

/** The build context as the statement records it: an uploaded tar's digest or a git source. */
export type ContextJson = { digest: string } | { git: { url: string; ref: string; subdir: string; commit: string } };

/**
 * One platform of REF. agent, mode, bases and context come only from a statement whose
 * signature verified and that is this manifest's (null otherwise: unproven claims are not shown).
 */
export interface PlatformVerdictJson {
  platform: string;
  /** The platform manifest's digest, as the index lists it. */
  digest: string;
  /** The attestation manifest the claims come from; null when none verified. */
  attestation: string | null;
  agent: string | null;
  mode: string | null;
  bases: BaseJson[];
  context: ContextJson | null;
  /** The platform's attestation verified (--require-native is judged separately, in problems). */
  verified: boolean;
  problems: Problem[];
}

/** `archfarm verify --output json`. */
export interface VerifyReportJson {
  ref: string;
  /** The index's digest. */
  digest: string;
  /** The key checked against ("sha256:" of its SPKI DER, the envelopes' keyid). */
  keyid: string;
  /** True only when every platform verified and every --require-native held. */
  verified: boolean;
  platforms: PlatformVerdictJson[];
  /** Problems of REF as a whole (a --require-native platform it does not have). */
  problems: Problem[];
}
