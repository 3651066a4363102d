import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { InvalidInputError } from '../errors';
import { createCa } from './ca';
import { issueServerCert } from './server-cert';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

test('issueServerCert: signed by the CA, serverAuth, SANs always include archfarm-coordinator', async () => {
  const ca = await createCa('archfarm CA');
  const server = await issueServerCert(ca, { dnsNames: ['build.example.org'], ips: ['127.0.0.1', '::1'] });
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(server.certPem);
  assert.ok(cert.checkIssued(caCert));
  assert.ok(cert.verify(caCert.publicKey));
  assert.equal(cert.issuer, caCert.subject);
  assert.equal(cert.ca, false);
  assert.deepEqual(cert.keyUsage, [SERVER_AUTH]); // Node's name for the extended key usage OIDs
  assert.equal(
    cert.subjectAltName,
    'DNS:archfarm-coordinator, DNS:build.example.org, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
  );
  assert.equal(cert.checkHost('archfarm-coordinator'), 'archfarm-coordinator');
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
});

test('issueServerCert: the default lifetime is 825 days, never beyond the CA', async () => {
  const ca = await createCa('archfarm CA', 100);
  const server = await issueServerCert(ca, { dnsNames: ['archfarm-coordinator'] });
  const cert = new X509Certificate(server.certPem);
  assert.equal(cert.validTo, new X509Certificate(ca.certPem).validTo);
  assert.equal(cert.subjectAltName, 'DNS:archfarm-coordinator');
  const long = new X509Certificate((await issueServerCert(await createCa('archfarm CA'))).certPem);
  const days = (new Date(long.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 824 && days <= 825, `valid for ${days} days`);
});

test('issueServerCert refuses addresses and names that are not', async () => {
  const ca = await createCa('archfarm CA');
  await assert.rejects(issueServerCert(ca, { ips: ['300.1.1.1'] }), InvalidInputError);
  await assert.rejects(issueServerCert(ca, { dnsNames: ['a b'] }), InvalidInputError);
  await assert.rejects(issueServerCert(ca, { validDays: 0 }), InvalidInputError);
});
