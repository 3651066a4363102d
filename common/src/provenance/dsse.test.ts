import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyId, pae, publicKeyPem, signEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse';
import { DSSE_PAYLOAD_TYPE } from './constants';
import { EnvelopeInvalidError, ProvenanceKeyUnsupportedError, SignatureInvalidError, SignatureMissingError } from './errors';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v1","subject":[]}');

test('PAE is DSSEv1, then type and body each after its decimal byte count', () => {
  assert.equal(pae('a/b', Buffer.from('héllo')).toString('utf8'), 'DSSEv1 3 a/b 6 héllo');
  assert.equal(pae(DSSE_PAYLOAD_TYPE, Buffer.alloc(0)).toString('utf8'), `DSSEv1 28 ${DSSE_PAYLOAD_TYPE} 0 `);
});

test('keyId is sha256 of the SPKI DER, the same from the private key, the public key and its PEM', () => {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const expected = `sha256:${createHash('sha256').update(der).digest('hex')}`;
  assert.equal(keyId(publicKey), expected);
  assert.equal(keyId(privateKey), expected);
  assert.equal(keyId(publicKeyPem(privateKey)), expected);
});

test('an envelope signed here verifies with openssl over the PAE bytes, and a flipped byte fails', () => {
  const envelope = signEnvelope(statement, privateKey);
  assert.equal(envelope.payloadType, DSSE_PAYLOAD_TYPE);
  assert.deepEqual(Buffer.from(envelope.payload, 'base64'), statement);
  assert.equal(envelope.signatures[0]?.keyid, keyId(publicKey));
  const dir = mkdtempSync(join(tmpdir(), 'dsse-'));
  try {
    const keyFile = join(dir, 'key.pub.pem');
    const sigFile = join(dir, 'sig.der');
    writeFileSync(keyFile, publicKeyPem(publicKey));
    writeFileSync(sigFile, Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64'));
    const opensslVerify = (body: Buffer): string => {
      const paeFile = join(dir, 'pae.bin');
      writeFileSync(paeFile, pae(envelope.payloadType, body));
      try {
        return execFileSync('openssl', ['dgst', '-sha256', '-verify', keyFile, '-signature', sigFile, paeFile], { encoding: 'utf8' }).trim();
      } catch (err) {
        return String((err as { stdout?: string }).stdout ?? err).trim();
      }
    };
    assert.equal(opensslVerify(statement), 'Verified OK');
    const flipped = Buffer.from(statement);
    flipped[5] = (flipped[5] ?? 0) ^ 1;
    assert.equal(opensslVerify(flipped), 'Verification failure');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verifyEnvelope returns the payload; a changed payload or another key fails with SIGNATURE_INVALID', () => {
  const envelope = signEnvelope(statement, privateKey);
  assert.deepEqual(verifyEnvelope(envelope, publicKey), statement);
  assert.deepEqual(verifyEnvelope(Buffer.from(JSON.stringify(envelope)), publicKeyPem(publicKey)), statement);
  const flipped = Buffer.from(statement);
  flipped[0] = (flipped[0] ?? 0) ^ 1;
  const tampered: DsseEnvelope = { ...envelope, payload: flipped.toString('base64') };
  assert.throws(() => verifyEnvelope(tampered, publicKey), (err: unknown) => err instanceof SignatureInvalidError && err.code === 'SIGNATURE_INVALID' && /was changed/.test(err.message));
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  assert.throws(() => verifyEnvelope(envelope, other), (err: unknown) => err instanceof SignatureInvalidError && err.keyIds[0] === keyId(publicKey) && err.keyId === keyId(other));
});

test('an envelope without signatures, not JSON, or of another payloadType is refused by code', () => {
  const envelope = signEnvelope(statement, privateKey);
  assert.throws(() => verifyEnvelope({ ...envelope, signatures: [] }, publicKey), (err: unknown) => err instanceof SignatureMissingError && err.code === 'SIGNATURE_MISSING');
  assert.throws(() => verifyEnvelope(Buffer.from('{not json'), publicKey), (err: unknown) => err instanceof EnvelopeInvalidError && err.code === 'ENVELOPE_INVALID');
  assert.throws(() => verifyEnvelope({ ...envelope, payloadType: 'text/plain' }, publicKey), /payloadType/);
  assert.throws(() => verifyEnvelope({ ...envelope, payload: '***' }, publicKey), /base64/);
});

test('keys other than EC P-256 are refused for signing and verifying', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.throws(() => signEnvelope(statement, rsa.privateKey), (err: unknown) => err instanceof ProvenanceKeyUnsupportedError && err.keyType === 'rsa');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  assert.throws(() => verifyEnvelope(signEnvelope(statement, privateKey), p384.publicKey), /EC secp384r1/);
});
