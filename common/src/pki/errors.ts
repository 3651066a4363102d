import { ArchfarmError } from '../errors';

/** A PEM text (certificate, key, CSR) could not be parsed; `what` names which. */
export class PemInvalidError extends ArchfarmError {
  readonly code = 'PEM_INVALID';
  readonly kind = 'input';
  constructor(
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(`the ${what} is not valid PEM`, options);
  }
}

/** A key archfarm does not sign with or accept: only EC P-256/P-384 and RSA >= 2048 bits. */
export class KeyUnsupportedError extends ArchfarmError {
  readonly code = 'KEY_UNSUPPORTED';
  readonly kind = 'input';
  constructor(readonly keyType: string) {
    super(`unsupported key (${keyType}): use EC P-256, EC P-384 or RSA of at least 2048 bits`);
  }
}

/** The given CA cannot issue certificates (not a CA, or the key is not the certificate's). */
export class CaInvalidError extends ArchfarmError {
  readonly code = 'CA_INVALID';
  readonly kind = 'input';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`the CA cannot sign: ${reason}`, options);
  }
}

/** A certificate signing request was refused; `reason` says why. */
export class CsrInvalidError extends ArchfarmError {
  readonly code = 'CSR_INVALID';
  readonly kind = 'input';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`certificate request refused: ${reason}`, options);
  }
}

/** No certificate the coordinator presented has the public key the operator pinned. */
export class CaFingerprintMismatchError extends ArchfarmError {
  readonly code = 'CA_FINGERPRINT_MISMATCH';
  readonly kind = 'input';
  constructor(
    readonly expected: string,
    /** SPKI fingerprint of the CA the server presented; undefined when it presented none. */
    readonly presented: string | undefined,
  ) {
    super(
      presented === undefined
        ? `the coordinator presented no certificate, so its CA cannot be ${expected}`
        : `the coordinator's CA is ${presented}, not the ${expected} you gave: check --ca-fingerprint`,
    );
  }
}

/** The pinned CA is in the server's chain, but the chain does not prove the server is the coordinator. */
export class CaChainInvalidError extends ArchfarmError {
  readonly code = 'CA_CHAIN_INVALID';
  readonly kind = 'input';
  constructor(reason: string) {
    super(`the coordinator's certificate chain is not valid: ${reason}`);
  }
}

/** The coordinator could not be reached for CA discovery; retrying may help. */
export class CaDiscoveryError extends ArchfarmError {
  readonly code = 'CA_DISCOVERY_FAILED';
  readonly kind = 'infrastructure';
  constructor(
    readonly address: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot fetch the CA from ${address}: ${reason}`, options);
  }
}

/** A verified peer certificate lacks what archfarm needs from it (a single common name, dates). */
export class PeerCertificateInvalidError extends ArchfarmError {
  readonly code = 'PEER_CERTIFICATE_INVALID';
  readonly kind = 'input';
  constructor(reason: string) {
    super(`peer certificate unusable: ${reason}`);
  }
}
