import assert from 'node:assert/strict';
import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createCa } from './ca';
import { createKeyAndCsr } from './csr';
import { CsrInvalidError } from './errors';
import { ECDSA_SHA256, EC_P256 } from './keys';
import { signClientCsr } from './sign-csr';
import { loadX509 } from './x509';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const HOUR = 3_600_000;

test('a CSR made by the agent is signed into a clientAuth certificate naming it', async () => {
  const ca = await createCa('archfarm CA');
  const { keyPem, csrPem } = await createKeyAndCsr('pi-1');
  assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  const signed = await signClientCsr(ca, csrPem, { name: 'pi-1', validMs: 24 * HOUR });
  const cert = new X509Certificate(signed.certPem);
  const caCert = new X509Certificate(ca.certPem);
  assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey));
  assert.equal(cert.subject, 'CN=pi-1');
  assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
  assert.equal(cert.ca, false);
  assert.ok(cert.publicKey.equals(createPublicKey(keyPem)), 'the certificate carries the agent key');
  assert.equal(signed.serial, cert.serialNumber);
  assert.match(signed.serial, /^[4-7][0-9A-F]{31}$/);
  assert.equal(signed.notAfter.getTime(), new Date(cert.validTo).getTime());
  assert.ok(Math.abs(signed.notAfter.getTime() - (Date.now() + 24 * HOUR)) < 5_000);
  const again = await signClientCsr(ca, csrPem, { name: 'pi-1', validMs: HOUR });
  assert.notEqual(again.serial, signed.serial);
});

test('a CSR whose CN is not the agent name is refused', async () => {
  const ca = await createCa('archfarm CA');
  const { csrPem } = await createKeyAndCsr('pi-1');
  await assert.rejects(signClientCsr(ca, csrPem, { name: 'pi-2', validMs: HOUR }), (err: unknown) => {
    assert.ok(err instanceof CsrInvalidError);
    assert.equal(err.code, 'CSR_INVALID');
    assert.match(err.message, /asks for CN "pi-1", but this agent is "pi-2"/);
    return true;
  });
});

test('what the CSR asks for beyond its CN is ignored', async () => {
  const x509 = await loadX509();
  const ca = await createCa('archfarm CA');
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['pi-1'] }, { O: ['system:masters'] }],
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'archfarm-coordinator' }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const signed = await signClientCsr(ca, csr.toString('pem'), { name: 'pi-1', validMs: HOUR });
  const cert = new X509Certificate(signed.certPem);
  assert.equal(cert.subject, 'CN=pi-1');
  assert.equal(cert.ca, false);
  assert.equal(cert.subjectAltName, undefined);
  assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
});

test('forged, garbage, weak-keyed and reserved-name CSRs are refused', async () => {
  const x509 = await loadX509();
  const ca = await createCa('archfarm CA');
  const [a, b] = await Promise.all([1, 2].map(() => webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])));
  assert.ok(a && b);
  // Someone else's public key with a signature made by a key they do not hold.
  const forged = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['pi-1'] }],
    keys: { publicKey: a.publicKey, privateKey: b.privateKey },
    signingAlgorithm: ECDSA_SHA256,
  });
  await assert.rejects(signClientCsr(ca, forged.toString('pem'), { name: 'pi-1', validMs: HOUR }), /signature does not match/);
  await assert.rejects(signClientCsr(ca, 'hello', { name: 'pi-1', validMs: HOUR }), CsrInvalidError);
  await assert.rejects(signClientCsr(ca, 'x'.repeat(100_000), { name: 'pi-1', validMs: HOUR }), /larger than/);
  const p521 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, true, ['sign', 'verify']);
  const weak = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['pi-1'] }],
    keys: p521,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-512' },
  });
  await assert.rejects(signClientCsr(ca, weak.toString('pem'), { name: 'pi-1', validMs: HOUR }), /unsupported key \(ec secp521r1\)/);
  const { csrPem } = await createKeyAndCsr('archfarm-coordinator');
  await assert.rejects(signClientCsr(ca, csrPem, { name: 'archfarm-coordinator', validMs: HOUR }), /reserved/);
});
