import assert from 'node:assert/strict';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { InvalidInputError } from '../errors';
import { caFingerprint, createCa, loadCa } from './ca';
import { CaInvalidError, PemInvalidError } from './errors';
import { parseCaFingerprint } from './fingerprint';
import { issueServerCert } from './server-cert';
import { loadX509 } from './x509';

test('createCa makes a self-signed CA with critical CA:true and keyCertSign+cRLSign', async () => {
  const x509 = await loadX509();
  const ca = await createCa('archfarm CA, test=1', 30);
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.ca, true);
  assert.equal(cert.subject, cert.issuer);
  assert.ok(cert.verify(cert.publicKey));
  assert.ok(createPublicKey(ca.keyPem).equals(cert.publicKey));
  const parsed = new x509.X509Certificate(ca.certPem);
  // One CN holding the comma, not a CN plus an injected 'test' attribute.
  assert.deepEqual(parsed.subjectName.toJSON(), [{ CN: ['archfarm CA, test=1'] }]);
  const basic = parsed.getExtension(x509.BasicConstraintsExtension);
  assert.deepEqual([basic?.ca, basic?.pathLength, basic?.critical], [true, 0, true]);
  const usage = parsed.getExtension(x509.KeyUsagesExtension);
  assert.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.equal(usage?.critical, true);
  const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 29 && days <= 30, `valid for ${days} days`);
});

test('caFingerprint is the sha256 of the SubjectPublicKeyInfo, stable across calls and re-encodings', async () => {
  const ca = await createCa('archfarm CA');
  const fingerprint = caFingerprint(ca.certPem);
  assert.match(fingerprint, /^sha256:[0-9a-f]{64}$/);
  assert.equal(caFingerprint(ca.certPem), fingerprint);
  assert.equal(caFingerprint(ca.certPem.replaceAll('\n', '\r\n')), fingerprint);
  const spki = createPublicKey(ca.keyPem).export({ type: 'spki', format: 'der' });
  assert.equal(fingerprint, `sha256:${createHash('sha256').update(spki).digest('hex')}`);
  assert.notEqual(caFingerprint((await createCa('archfarm CA')).certPem), fingerprint);
  assert.throws(() => caFingerprint('not a certificate'), PemInvalidError);
});

test('parseCaFingerprint normalises case and refuses anything but sha256:<64 hex>', () => {
  const hex = 'AB'.repeat(32);
  assert.equal(parseCaFingerprint(` SHA256:${hex} `), `sha256:${hex.toLowerCase()}`);
  for (const bad of [hex, `sha1:${hex}`, `sha256:${hex.slice(2)}`, `sha256:${hex}00`, 'sha256:zz']) {
    assert.throws(() => parseCaFingerprint(bad), InvalidInputError, bad);
  }
});

test('loadCa refuses a key that is not the CA certificate one, and a certificate that is not a CA', async () => {
  const [a, b] = await Promise.all([createCa('a'), createCa('b')]);
  await assert.rejects(loadCa({ certPem: a.certPem, keyPem: b.keyPem }), CaInvalidError);
  const server = await issueServerCert(a);
  await assert.rejects(loadCa(server), /not a CA/);
  await assert.rejects(loadCa({ certPem: a.certPem, keyPem: 'junk' }), PemInvalidError);
  await assert.rejects(createCa(''), InvalidInputError);
});
