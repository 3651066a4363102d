import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { after, test } from 'node:test';
import { InvalidInputError } from '../errors';
import { caFingerprint, createCa, type CertificateAndKey } from './ca';
import { discoverCa } from './discover-ca';
import { CaDiscoveryError, CaFingerprintMismatchError } from './errors';
import { issueServerCert } from './server-cert';
import { signClientCsr } from './sign-csr';
import { createKeyAndCsr } from './csr';

const servers: Server[] = [];
after(() => servers.forEach((server) => server.close()));

/** A real TLS server on 127.0.0.1, port chosen by the kernel, serving `cert` (a chain) and `key`. */
async function serve(cert: string, key: string): Promise<number> {
  const server = createServer({ cert, key, ALPNProtocols: ['h2'] }, (socket) => socket.end());
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function coordinator(): Promise<{ ca: CertificateAndKey; port: number }> {
  const ca = await createCa('archfarm CA');
  const server = await issueServerCert(ca, { ips: ['127.0.0.1'] });
  return { ca, port: await serve(server.certPem + ca.certPem, server.keyPem) };
}

test('discoverCa returns the CA whose key the fingerprint pins', async () => {
  const { ca, port } = await coordinator();
  const pem = await discoverCa('127.0.0.1', port, caFingerprint(ca.certPem).toUpperCase().replace('SHA256', 'sha256'));
  assert.equal(pem, ca.certPem);
});

test('discoverCa with a wrong fingerprint says what the coordinator has and what was given', async () => {
  const { ca, port } = await coordinator();
  const wrong = caFingerprint((await createCa('archfarm CA')).certPem);
  await assert.rejects(discoverCa('127.0.0.1', port, wrong), (err: unknown) => {
    assert.ok(err instanceof CaFingerprintMismatchError);
    assert.equal(err.message, `the coordinator's CA is ${caFingerprint(ca.certPem)}, not the ${wrong} you gave: check --ca-fingerprint`);
    assert.deepEqual([err.code, err.kind, err.expected], ['CA_FINGERPRINT_MISMATCH', 'input', wrong]);
    return true;
  });
});

test('discoverCa refuses a server that only copied the pinned CA certificate into its chain', async () => {
  const real = await createCa('archfarm CA');
  const impostor = await createCa('archfarm CA');
  const leaf = await issueServerCert(impostor, { ips: ['127.0.0.1'] });
  const port = await serve(leaf.certPem + real.certPem, leaf.keyPem);
  await assert.rejects(discoverCa('127.0.0.1', port, caFingerprint(real.certPem)), CaFingerprintMismatchError);
});

test('discoverCa refuses a CA-signed certificate that is not the coordinator (an agent posing as it)', async () => {
  const ca = await createCa('archfarm CA');
  const agent = await createKeyAndCsr('pi-1');
  const { certPem } = await signClientCsr(ca, agent.csrPem, { name: 'pi-1', validMs: 60_000 });
  const port = await serve(certPem + ca.certPem, agent.keyPem);
  await assert.rejects(discoverCa('127.0.0.1', port, caFingerprint(ca.certPem)), /does not name archfarm-coordinator/);
});

test('discoverCa: malformed fingerprint, closed port and silent server are each clear', async () => {
  const { port } = await coordinator();
  await assert.rejects(discoverCa('127.0.0.1', port, 'abc'), InvalidInputError);
  const fingerprint = `sha256:${'0'.repeat(64)}`;
  const closedPort = await freePort();
  await assert.rejects(discoverCa('127.0.0.1', closedPort, fingerprint), (err: unknown) => {
    assert.ok(err instanceof CaDiscoveryError);
    assert.match(err.message, new RegExp(`^cannot fetch the CA from 127.0.0.1:${closedPort}: .*ECONNREFUSED`));
    return true;
  });
  const silent = createNetServer(() => undefined).listen(0, '127.0.0.1');
  after(() => silent.close());
  await once(silent, 'listening');
  const silentPort = (silent.address() as AddressInfo).port;
  await assert.rejects(discoverCa('127.0.0.1', silentPort, fingerprint, { timeoutMs: 200 }), /no TLS handshake within 200 ms/);
});

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
