import { createHash, X509Certificate } from 'node:crypto';
import { InvalidInputError } from '../errors';

/**
 * `sha256:<hex>` of the certificate's DER SubjectPublicKeyInfo: the same value kubeadm's
 * --discovery-token-ca-cert-hash pins. Hashing the key rather than the whole certificate
 * means re-issuing the CA with the same key (say, to extend its validity) keeps the pin.
 */
export function spkiFingerprint(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const FINGERPRINT = /^sha256:([0-9a-f]{64})$/i;

/** Validates a user-given `sha256:<64 hex>` fingerprint and returns it in canonical (lower-case) form. */
export function parseCaFingerprint(text: string): string {
  const match = FINGERPRINT.exec(text.trim());
  if (match?.[1] === undefined) {
    throw new InvalidInputError('ca-fingerprint', `expected sha256:<64 hex digits> as the coordinator printed it, got "${text}"`);
  }
  return `sha256:${match[1].toLowerCase()}`;
}
