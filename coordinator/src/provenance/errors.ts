import { ArchfarmError } from '@archfarm/common';

/** The provenance signing key (or its folder) is open to group or others: refused rather than trusted. */
export class SigningKeyPermissionsError extends ArchfarmError {
  readonly code = 'SIGNING_KEY_PERMISSIONS';
  readonly kind = 'input';
  constructor(
    readonly path: string,
    readonly mode: number,
  ) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    super(`${path} has mode ${octal}, so other users may read or replace it; run 'chmod go= ${path}' (and check who could have used the key)`);
  }
}

/** The provenance signing key file exists but is not an EC P-256 private key in PEM. */
export class SigningKeyInvalidError extends ArchfarmError {
  readonly code = 'SIGNING_KEY_INVALID';
  readonly kind = 'input';
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}; restore it from a backup, or remove it to start signing with a new key (verifiers must then be given the new public key)`, options);
  }
}

/** A published job's records lack what its statement must say (its agent or mode): no statement is invented. */
export class ProvenanceIncompleteError extends ArchfarmError {
  readonly code = 'PROVENANCE_INCOMPLETE';
  readonly kind = 'infrastructure';
  constructor(
    readonly platform: string,
    readonly missing: string,
  ) {
    super(`cannot write the ${platform} provenance: the job's records have no ${missing}`);
  }
}
