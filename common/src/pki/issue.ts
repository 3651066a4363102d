import type { LoadedCa } from './ca';
import type * as X509 from '@peculiar/x509';
import { commonNameSubject, loadX509, randomSerial, validity } from './x509';

export interface LeafParams {
  commonName: string;
  publicKey: X509.PublicKeyType;
  validMs: number;
  /** What the leaf is for: its extended key usage and names. */
  extensions: X509.Extension[];
}

/**
 * Signs an end-entity certificate: CA:false, digitalSignature only (ECDHE key exchange needs
 * nothing more), key identifiers so chains build, and never outliving the CA.
 */
export async function issueLeaf(ca: LoadedCa, params: LeafParams): Promise<X509.X509Certificate> {
  const x509 = await loadX509();
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: commonNameSubject(params.commonName),
    // The CA's own encoded name, so issuer and subject match byte for byte when chains are built.
    issuer: ca.cert.subjectName,
    ...validity(params.validMs, ca.cert.notAfter),
    signingAlgorithm: ca.signer.algorithm,
    signingKey: ca.signer.key,
    publicKey: params.publicKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(params.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      ...params.extensions,
    ],
  });
}
