import { createPublicKey } from 'node:crypto';
import { CertificateAndKey, loadCa, requireName, requirePositive } from './ca';
import { CsrInvalidError, KeyUnsupportedError } from './errors';
import { issueLeaf } from './issue';
import { keyParams } from './keys';
import { COORDINATOR_TLS_NAME } from './server-cert';
import type * as X509 from '@peculiar/x509';
import { loadX509, pemText } from './x509';

/** Far above any real CSR (a P-256 one is ~400 bytes); refuses junk before parsing it. */
const MAX_CSR_PEM_LENGTH = 16 * 1024;

export interface SignCsrOptions {
  /** The agent's name; the CSR's CN must be exactly this, and the certificate names it. */
  name: string;
  /** Certificate lifetime in milliseconds (capped at the CA's own expiry). */
  validMs: number;
}

export interface SignedClientCert {
  certPem: string;
  notAfter: Date;
  /** Upper-case hex, as Node reports it in a peer certificate's serialNumber. */
  serial: string;
}

/**
 * Coordinator side of enrolment: checks the CSR's signature (the agent holds the key), its
 * CN and its key type, then issues a clientAuth certificate with CN=name. Everything else in
 * the CSR (other subject fields, requested extensions such as SANs or CA:true) is ignored:
 * the coordinator decides what the certificate says, never the requester.
 */
export async function signClientCsr(ca: CertificateAndKey, csrPem: string, options: SignCsrOptions): Promise<SignedClientCert> {
  const { name, validMs } = options;
  requireName('name', name);
  requirePositive('validMs', validMs);
  if (name === COORDINATOR_TLS_NAME) {
    // Such a certificate (CN only, no SAN) would pass the name check clients make on the coordinator.
    throw new CsrInvalidError(`"${COORDINATOR_TLS_NAME}" is reserved for the coordinator`);
  }
  const csr = await verifiedCsr(csrPem);
  const cns = csr.subjectName.getField('CN');
  if (cns.length !== 1 || cns[0] !== name) {
    throw new CsrInvalidError(`it asks for CN ${JSON.stringify(cns.join(','))}, but this agent is "${name}"`);
  }
  const loaded = await loadCa(ca);
  const x509 = await loadX509();
  const cert = await issueLeaf(loaded, {
    commonName: name,
    publicKey: csr.publicKey,
    validMs,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return { certPem: pemText(cert.toString('pem')), notAfter: cert.notAfter, serial: cert.serialNumber.toUpperCase() };
}

async function verifiedCsr(csrPem: string): Promise<X509.Pkcs10CertificateRequest> {
  if (csrPem.length > MAX_CSR_PEM_LENGTH) throw new CsrInvalidError(`it is larger than ${MAX_CSR_PEM_LENGTH} bytes`);
  const x509 = await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CsrInvalidError('it is not a PEM certificate request', { cause: err });
  }
  try {
    keyParams(createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' }));
  } catch (err) {
    throw new CsrInvalidError(err instanceof KeyUnsupportedError ? err.message : 'its public key cannot be read', { cause: err });
  }
  let valid: boolean;
  try {
    valid = await csr.verify();
  } catch (err) {
    throw new CsrInvalidError('its signature cannot be checked', { cause: err });
  }
  if (!valid) throw new CsrInvalidError('its signature does not match its public key');
  return csr;
}
