import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { DSSE_PAYLOAD_TYPE } from './constants';
import { EnvelopeInvalidError, ProvenanceKeyUnsupportedError, SignatureInvalidError, SignatureMissingError } from './errors';

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse): base64 payload and its signatures. */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** One signature of a DSSE envelope: the key's id and the base64 of the DER ECDSA signature. */
export interface DsseSignature {
  keyid: string;
  sig: string;
}

/** A key as a KeyObject or PEM text. */
export type KeyInput = KeyObject | string;

/**
 * DSSE's pre-authentication encoding, what is really signed:
 * "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as decimal byte counts.
 */
export function pae(type: string, body: Uint8Array): Buffer {
  const typeBytes = Buffer.from(type, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${typeBytes.length} `, 'utf8'), typeBytes, Buffer.from(` ${body.length} `, 'utf8'), body]);
}

/** "sha256:<hex>" of the public key's SPKI DER: the envelope's keyid (a private key gives its public key's). */
export function keyId(key: KeyInput): string {
  const spki = toPublicKey(key).export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The public key as SPKI PEM (what `archfarm provenance key` prints); a private key gives its public key's. */
export function publicKeyPem(key: KeyInput): string {
  return toPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

/** Signs statement bytes with an EC P-256 private key: ECDSA with SHA-256 over the PAE, DER-encoded. */
export function signEnvelope(statementBytes: Uint8Array, privateKey: KeyInput): DsseEnvelope {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  requireP256(key);
  const signature = sign('sha256', pae(DSSE_PAYLOAD_TYPE, statementBytes), { key, dsaEncoding: 'der' });
  return {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: Buffer.from(statementBytes).toString('base64'),
    signatures: [{ keyid: keyId(key), sig: signature.toString('base64') }],
  };
}

/**
 * Checks an envelope (parsed, or its JSON bytes) against a public key and returns the payload
 * bytes it signs. Throws EnvelopeInvalidError, SignatureMissingError or SignatureInvalidError.
 * Any signature that verifies is enough: keyids are hints (DSSE), not trusted.
 */
export function verifyEnvelope(envelope: DsseEnvelope | Uint8Array, publicKey: KeyInput): Buffer {
  const checked = checkEnvelope(envelope);
  const key = toPublicKey(publicKey);
  requireP256(key);
  if (checked.signatures.length === 0) throw new SignatureMissingError();
  const payload = Buffer.from(checked.payload, 'base64');
  const signed = pae(checked.payloadType, payload);
  const good = checked.signatures.some((s) => verify('sha256', signed, { key, dsaEncoding: 'der' }, Buffer.from(s.sig, 'base64')));
  if (!good) throw new SignatureInvalidError(keyId(key), checked.signatures.map((s) => s.keyid));
  return payload;
}

function checkEnvelope(envelope: DsseEnvelope | Uint8Array): DsseEnvelope {
  let value: unknown = envelope;
  if (envelope instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(envelope).toString('utf8'));
    } catch (err) {
      throw new EnvelopeInvalidError('not JSON', { cause: err });
    }
  }
  if (typeof value !== 'object' || value === null) throw new EnvelopeInvalidError('not a JSON object');
  const { payloadType, payload, signatures } = value as Record<string, unknown>;
  if (payloadType !== DSSE_PAYLOAD_TYPE) throw new EnvelopeInvalidError(`payloadType is ${JSON.stringify(payloadType)}, not ${DSSE_PAYLOAD_TYPE}`);
  if (typeof payload !== 'string' || !BASE64.test(payload)) throw new EnvelopeInvalidError('payload is not base64');
  if (!Array.isArray(signatures)) throw new EnvelopeInvalidError('signatures is not a list');
  const list: DsseSignature[] = [];
  for (const s of signatures as unknown[]) {
    const { keyid, sig } = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    if (typeof sig !== 'string' || !BASE64.test(sig)) throw new EnvelopeInvalidError('a signature is not base64');
    list.push({ keyid: typeof keyid === 'string' ? keyid : '', sig });
  }
  return { payloadType, payload, signatures: list };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function toPublicKey(key: KeyInput): KeyObject {
  if (typeof key !== 'string') return key.type === 'public' ? key : createPublicKey(key);
  return createPublicKey(key);
}

function requireP256(key: KeyObject): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new ProvenanceKeyUnsupportedError(key.asymmetricKeyType === 'ec' ? `EC ${curve ?? 'unknown curve'}` : (key.asymmetricKeyType ?? key.type));
  }
}
