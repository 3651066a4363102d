import { ArchfarmError } from '@archfarm/common';

/**
 * `archfarm verify`'s failure conditions (exit statuses in ../exit-codes.ts). Each says what
 * was not proven; the per-platform details are on stdout.
 */

/** REF names a single image manifest, not an index: there is nowhere for an attestation to be. */
export class NotAnIndexError extends ArchfarmError {
  readonly code = 'NOT_AN_INDEX';
  readonly kind = 'input';
  constructor(
    readonly ref: string,
    readonly mediaType: string,
  ) {
    super(`${ref} is a ${mediaType}, not an image index: it carries no attestations (archfarm publishes an index)`);
  }
}

/**
 * Some platform of REF did not verify: a signature missing or wrong, a statement that is not
 * its image's, or a --require-native platform not built natively. `failed` lists them.
 */
export class VerificationFailedError extends ArchfarmError {
  readonly code = 'VERIFICATION_FAILED';
  readonly kind = 'build';
  constructor(
    readonly ref: string,
    /** One line per failing platform (or a platform --require-native named that REF lacks). */
    readonly failed: readonly string[],
  ) {
    super(`${ref} did not verify: ${failed.join('; ')}`);
  }
}

/** --key names a file that is not a PEM public key (or cannot be read). */
export class VerifyKeyInvalidError extends ArchfarmError {
  readonly code = 'VERIFY_KEY_INVALID';
  readonly kind = 'input';
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`--key ${file}: ${reason}; give the PEM public key \`archfarm provenance key\` prints`, options);
  }
}
