import { ArchfarmError } from '../errors';

/** A DSSE envelope is not one archfarm reads (not JSON, missing fields, another payloadType); `reason` says which. */
export class EnvelopeInvalidError extends ArchfarmError {
  readonly code = 'ENVELOPE_INVALID';
  readonly kind = 'input';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the DSSE envelope is invalid: ${reason}`, options);
  }
}

/** A DSSE envelope carries no signature at all. */
export class SignatureMissingError extends ArchfarmError {
  readonly code = 'SIGNATURE_MISSING';
  readonly kind = 'input';
  constructor() {
    super('the DSSE envelope carries no signature');
  }
}

/** No signature of the envelope verifies against the key; `keyId` is the key's, `keyIds` those the envelope names. */
export class SignatureInvalidError extends ArchfarmError {
  readonly code = 'SIGNATURE_INVALID';
  readonly kind = 'input';
  constructor(
    readonly keyId: string,
    readonly keyIds: readonly string[],
  ) {
    super(
      keyIds.includes(keyId)
        ? `the signature by ${keyId} does not verify: the statement or the signature was changed`
        : `no signature verifies against ${keyId} (the envelope is signed by ${keyIds.join(', ') || 'an unnamed key'})`,
    );
  }
}

/** A provenance key is not an EC P-256 key (the only kind the format signs with); `keyType` says what it is. */
export class ProvenanceKeyUnsupportedError extends ArchfarmError {
  readonly code = 'PROVENANCE_KEY_UNSUPPORTED';
  readonly kind = 'input';
  constructor(readonly keyType: string) {
    super(`provenance keys are EC P-256, not ${keyType}`);
  }
}

/** Bytes that should be an in-toto v1 statement with an SLSA provenance v1 predicate are not; `reason` says why. */
export class StatementInvalidError extends ArchfarmError {
  readonly code = 'STATEMENT_INVALID';
  readonly kind = 'input';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the provenance statement is invalid: ${reason}`, options);
  }
}
