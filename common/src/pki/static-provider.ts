import type { experimental } from '@grpc/grpc-js';
import { InvalidInputError } from '../errors';

/** PEM texts a static provider hands to grpc-js. */
export interface StaticCertificates {
  /** CA certificate(s) to verify peers with. */
  caPem?: string;
  /** Own certificate; append the CA certificate to serve a chain (needed for discoverCa). */
  certPem?: string;
  keyPem?: string;
}

/**
 * A grpc-js CertificateProvider for certificates that do not change while it lives.
 *
 * Give one provider holding CA and identity as BOTH arguments of
 * `experimental.createCertificateProviderServerCredentials(provider, provider, false)`:
 * grpc-js 1.14 passes that function's two providers to its constructor in swapped order, so
 * separate CA-only and identity-only providers never become ready (connections are dropped).
 * Listeners are called on the next tick, as FileWatcherCertificateProvider does: grpc-js
 * registers its own watcher only after adding the listener, and would miss a synchronous call.
 */
export function staticCertificateProvider(certs: StaticCertificates): experimental.CertificateProvider {
  const { caPem, certPem, keyPem } = certs;
  if ((certPem === undefined) !== (keyPem === undefined)) {
    throw new InvalidInputError(certPem === undefined ? 'certPem' : 'keyPem', 'a certificate and its key are given together');
  }
  const ca = caPem === undefined ? undefined : { caCertificate: Buffer.from(caPem) };
  const identity =
    certPem === undefined || keyPem === undefined ? undefined : { certificate: Buffer.from(certPem), privateKey: Buffer.from(keyPem) };
  return {
    addCaCertificateListener(listener) {
      if (ca !== undefined) process.nextTick(listener, ca);
    },
    removeCaCertificateListener() {},
    addIdentityCertificateListener(listener) {
      if (identity !== undefined) process.nextTick(listener, identity);
    },
    removeIdentityCertificateListener() {},
  };
}
