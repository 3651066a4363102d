import { requireName } from './ca';
import { ECDSA_SHA256, generateKeyPair, privateKeyPem } from './keys';
import { commonNameSubject, loadX509, pemText } from './x509';

/** An agent's new private key (PKCS#8 PEM; store it mode 0600) and its CSR (PEM) to send for signing. */
export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
}

/**
 * Agent side of enrolment: a fresh P-256 key pair and a CSR with CN=name. The private key
 * never leaves the agent; only the CSR is sent to the coordinator.
 */
export async function createKeyAndCsr(name: string): Promise<KeyAndCsr> {
  requireName('name', name);
  const x509 = await loadX509();
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: commonNameSubject(name),
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  return { keyPem: privateKeyPem(keys.privateKey), csrPem: pemText(csr.toString('pem')) };
}
