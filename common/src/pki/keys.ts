import { createPrivateKey, createPublicKey, KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { KeyUnsupportedError, PemInvalidError } from './errors';

const subtle = webcrypto.subtle;

/** Keys archfarm creates: ECDSA P-256, small enough for a Pi and accepted everywhere. */
export const EC_P256: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const ECDSA_SHA256: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

type ImportParams = webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
type SignParams = webcrypto.EcdsaParams | webcrypto.Algorithm;

/** A private key ready for @peculiar/x509, with the algorithm to sign with and its public half. */
export interface Signer {
  key: webcrypto.CryptoKey;
  algorithm: SignParams;
  publicKey: KeyObject;
}

export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("PRIVATE KEY"), the form Node, OpenSSL and grpc-js all read. */
export function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * The webcrypto parameters for a key archfarm accepts, or KeyUnsupportedError. Accepts given
 * (`--tls-key`) keys too, which is why RSA and P-384 are here although we only create P-256.
 */
export function keyParams(key: KeyObject): { importParams: ImportParams; algorithm: SignParams } {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return { importParams: EC_P256, algorithm: ECDSA_SHA256 };
    if (details?.namedCurve === 'secp384r1') {
      return { importParams: { name: 'ECDSA', namedCurve: 'P-384' }, algorithm: { name: 'ECDSA', hash: 'SHA-384' } };
    }
  }
  if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) {
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importParams: rsa, algorithm: rsa };
  }
  const size = details?.namedCurve ?? (details?.modulusLength === undefined ? '' : `${details.modulusLength} bits`);
  throw new KeyUnsupportedError(`${key.asymmetricKeyType ?? 'unknown'} ${size}`.trim());
}

/** Loads a PEM private key (PKCS#8, SEC1 or PKCS#1) for signing certificates. */
export async function importSigner(keyPem: string): Promise<Signer> {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new PemInvalidError('private key', { cause: err });
  }
  const { importParams, algorithm } = keyParams(key);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const cryptoKey = await subtle.importKey('pkcs8', pkcs8, importParams, false, ['sign']);
  return { key: cryptoKey, algorithm, publicKey: createPublicKey(key) };
}

/** Parses a PEM certificate with Node's own X.509 code; `what` names it in the error. */
export function parseCertificate(pem: string, what = 'certificate'): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new PemInvalidError(what, { cause: err });
  }
}
