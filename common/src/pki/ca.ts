import { parseCertificate, generateKeyPair, privateKeyPem, ECDSA_SHA256, importSigner, Signer } from './keys';
import { spkiFingerprint } from './fingerprint';
import { CaInvalidError } from './errors';
import { InvalidInputError } from '../errors';
import type * as X509 from '@peculiar/x509';
import { commonNameSubject, DAY_MS, loadX509, pemText, randomSerial, validity } from './x509';

/** A certificate and its private key, both PEM (key as PKCS#8). */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

/**
 * Creates a self-signed CA: a fresh P-256 key, basicConstraints CA:true with path length 0
 * (it signs only leaf certificates), keyUsage keyCertSign + cRLSign, both critical.
 */
export async function createCa(commonName: string, validDays = 3650): Promise<CertificateAndKey> {
  requireName('commonName', commonName);
  requirePositive('validDays', validDays);
  const x509 = await loadX509();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: commonNameSubject(commonName),
    ...validity(validDays * DAY_MS),
    signingAlgorithm: ECDSA_SHA256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pemText(cert.toString('pem')), keyPem: privateKeyPem(keys.privateKey) };
}

/**
 * The CA fingerprint operators give agents (`--ca-fingerprint`): `sha256:<hex>` of the CA
 * certificate's SubjectPublicKeyInfo, as kubeadm pins its CA (see spkiFingerprint).
 */
export function caFingerprint(certPem: string): string {
  return spkiFingerprint(parseCertificate(certPem, 'CA certificate'));
}

/** A CA ready to sign: its certificate (issuer name, key id, expiry) and its key. */
export interface LoadedCa {
  cert: X509.X509Certificate;
  signer: Signer;
}

/** Parses a CA and checks that it is one and that the key is its own, so a bad --client-ca fails early. */
export async function loadCa(ca: CertificateAndKey): Promise<LoadedCa> {
  const nodeCert = parseCertificate(ca.certPem, 'CA certificate');
  if (!nodeCert.ca) throw new CaInvalidError('the certificate is not a CA (basicConstraints CA:false)');
  const signer = await importSigner(ca.keyPem);
  if (!nodeCert.publicKey.equals(signer.publicKey)) {
    throw new CaInvalidError('the private key does not belong to the CA certificate');
  }
  const x509 = await loadX509();
  return { cert: new x509.X509Certificate(ca.certPem), signer };
}

export function requireName(field: string, name: string): void {
  if (name.trim() === '' || name.length > 64) {
    throw new InvalidInputError(field, 'must be 1 to 64 characters (a certificate common name)');
  }
}

export function requirePositive(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidInputError(field, `must be a positive number, got ${value}`);
}
