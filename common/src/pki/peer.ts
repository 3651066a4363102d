import type { PeerCertificate } from 'node:tls';
import { PeerCertificateInvalidError } from './errors';

/** Who a verified client certificate names, and for how long. */
export interface PeerIdentity {
  /** The certificate's CN: the agent's name. */
  name: string;
  notBefore: Date;
  notAfter: Date;
  /** Colon-separated upper-case hex SHA-256 of the certificate, as Node formats it. */
  fingerprint256: string;
  /** Upper-case hex, matching SignedClientCert.serial. */
  serialNumber: string;
}

/**
 * The identity in grpc-js's `call.getAuthContext().sslPeerCertificate`. grpc-js fills that
 * field only when the TLS layer verified the certificate against the client CA, so a value here
 * is trusted. Returns undefined when the caller presented no verified certificate (an operator
 * with a token, or a refused certificate): that is "anonymous", for the caller to decide on.
 * Throws PeerCertificateInvalidError for a verified certificate without one usable CN or dates.
 */
export function certificateIdentity(peer: PeerCertificate | undefined): PeerIdentity | undefined {
  // Node returns {} for "no certificate", whatever the type says.
  if (peer === undefined || peer.raw === undefined) return undefined;
  const cn: unknown = peer.subject?.CN;
  // Node gives an array when the subject has several CNs: which would be the name?
  if (typeof cn !== 'string' || cn === '') throw new PeerCertificateInvalidError('it must have exactly one common name (CN)');
  const notBefore = new Date(peer.valid_from);
  const notAfter = new Date(peer.valid_to);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new PeerCertificateInvalidError(`unreadable validity "${peer.valid_from}" to "${peer.valid_to}"`);
  }
  return {
    name: cn,
    notBefore,
    notAfter,
    fingerprint256: peer.fingerprint256,
    serialNumber: peer.serialNumber.toUpperCase(),
  };
}
