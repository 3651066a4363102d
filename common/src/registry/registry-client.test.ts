import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { after, test } from 'node:test';
import pino from 'pino';
import { sha256Digest } from './digest';
import { DigestMismatchError, RegistryAuthError, RegistryRequestError, RegistryUnavailableError } from './errors';
import { RegistryClient } from './registry-client';

// A real HTTP server on 127.0.0.1:0 playing token server and challenging registry: it
// tests our auth and upload logic, not the registry (test/ runs against a real one).
type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
interface Seen { method: string; url: string; authorization: string | undefined }
const servers: Array<{ close(): void }> = [];
after(() => servers.forEach((s) => s.close()));

async function serve(handler: Handler): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      handler(req, Buffer.concat(chunks), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function logCapture(): { logger: pino.Logger; text: () => string } {
  let out = '';
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => { out += chunk.toString(); done(); } });
  return { logger: pino({ level: 'trace' }, sink), text: () => out };
}

const BASIC = `Basic ${Buffer.from('user:s3cret').toString('base64')}`;
const DIGEST = sha256Digest(Buffer.from('x'));

test('Bearer: anonymous first, token with basic credentials and push,pull scope, cached', async () => {
  let host = '';
  const { host: h, seen } = await serve((req, _body, res) => {
    if (req.url!.startsWith('/token')) {
      const ok = req.headers.authorization === BASIC;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok-SECRET', expires_in: 300 }));
    } else if (req.headers.authorization !== 'Bearer tok-SECRET') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake",scope="repository:team/app:pull"` }).end();
    } else res.writeHead(200).end();
  });
  host = h;
  const log = logCapture();
  const client = new RegistryClient(host, { credentials: { username: 'user', password: 's3cret' }, logger: log.logger });
  assert.equal(await client.blobExists('team/app', DIGEST), true);
  assert.equal(await client.blobExists('team/app', DIGEST), true);
  const tokenCalls = seen.filter((s) => s.url.startsWith('/token'));
  assert.equal(tokenCalls.length, 1, 'the token is cached for the scope');
  const url = new URL(tokenCalls[0]!.url, 'http://x');
  assert.equal(url.searchParams.get('service'), 'fake');
  assert.equal(url.searchParams.get('scope'), 'repository:team/app:push,pull');
  assert.deepEqual(seen.map((s) => s.authorization === undefined), [true, false, false, false], 'anonymous only on the first try');
  assert.doesNotMatch(log.text(), /tok-SECRET|s3cret|dXNlcjpzM2NyZXQ/, 'no credential or token in the log');
  assert.match(log.text(), /registry token obtained/);
});

test('Basic: credentials sent after the challenge; none or wrong ones give RegistryAuthError', async () => {
  const { host, seen } = await serve((req, _body, res) => {
    if (req.headers.authorization === BASIC) res.writeHead(200).end();
    else res.writeHead(401, { 'www-authenticate': 'Basic realm="Registry"' }).end();
  });
  const good = new RegistryClient(host, { credentials: { username: 'user', password: 's3cret' } });
  assert.equal(await good.manifestExists('team/app', 'v1'), true);
  assert.equal(await good.manifestExists('team/app', 'v1'), true);
  assert.equal(seen.length, 3, 'Basic is sent up front once the registry asked for it');

  const anonymous = await new RegistryClient(host).manifestExists('team/app', 'v1').catch((e: unknown) => e);
  assert.ok(anonymous instanceof RegistryAuthError);
  assert.equal(anonymous.kind, 'input');
  assert.match(anonymous.message, new RegExp(`${host}/team/app.*docker login ${host}`));
  const wrong = new RegistryClient(host, { credentials: { username: 'user', password: 'nope' } });
  await assert.rejects(wrong.manifestExists('team/app', 'v1'), (err: unknown) => err instanceof RegistryAuthError && !err.message.includes('nope'));
});

test('a token server that refuses gives RegistryAuthError; one that fails gives RegistryUnavailableError', async () => {
  let status = 403;
  let host = '';
  ({ host } = await serve((req, _body, res) => {
    if (req.url!.startsWith('/token')) res.writeHead(status).end();
    else res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token"` }).end();
  }));
  await assert.rejects(new RegistryClient(host).blobExists('a', DIGEST), RegistryAuthError);
  status = 503;
  await assert.rejects(new RegistryClient(host).blobExists('a', DIGEST), RegistryUnavailableError);
});

test('upload: relative Location with a query, digest appended, stream re-made after a 401', async () => {
  const bytes = Buffer.from('layer bytes');
  const digest = sha256Digest(bytes);
  let challenged = false;
  let received: { url: string; body: Buffer; length: string | undefined } | undefined;
  const { host } = await serve((req, body, res) => {
    if (req.method === 'HEAD') res.writeHead(404).end();
    else if (req.method === 'POST') res.writeHead(202, { location: '/v2/team/app/blobs/uploads/u-1?_state=ab%2Bc%3D%3D' }).end();
    else if (!challenged) {
      challenged = true;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
    } else {
      received = { url: req.url!, body, length: req.headers['content-length'] };
      res.writeHead(201, { 'docker-content-digest': digest }).end();
    }
  });
  let made = 0;
  const client = new RegistryClient(host, { credentials: { username: 'u', password: 'p' } });
  const sent = await client.uploadBlob('team/app', { digest, size: bytes.length }, () => {
    made++;
    return Readable.from([bytes.subarray(0, 5), bytes.subarray(5)]);
  });
  assert.equal(sent, true);
  assert.equal(made, 2, 'a fresh stream for the retry');
  assert.equal(received?.url, `/v2/team/app/blobs/uploads/u-1?_state=ab%2Bc%3D%3D&digest=${encodeURIComponent(digest)}`);
  assert.deepEqual(received?.body, bytes);
  assert.equal(received?.length, String(bytes.length));
});

test('errors: 5xx, refused connection, 4xx with the registry message, digest mismatches', async () => {
  const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
  const { host } = await serve((req, _body, res) => {
    if (req.url!.includes('/blobs/')) res.writeHead(500).end();
    else if (req.url!.endsWith('/bad')) res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"TAG_INVALID","message":"manifest tag did not match URI"}]}');
    else res.writeHead(200, { 'content-type': 'application/json', 'docker-content-digest': req.url!.endsWith('/lying') ? DIGEST : sha256Digest(manifest) }).end(manifest);
  });
  const client = new RegistryClient(host);
  await assert.rejects(client.blobExists('a', DIGEST), (e: unknown) => e instanceof RegistryUnavailableError && e.kind === 'infrastructure' && e.status === 500);
  await assert.rejects(client.putManifest('a', 'bad', 'application/json', manifest), (e: unknown) => e instanceof RegistryRequestError && /TAG_INVALID: manifest tag did not match URI/.test(e.message));
  const got = await client.getManifest('a', 'v1');
  assert.equal(got.digest, sha256Digest(manifest));
  assert.equal(got.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  await assert.rejects(client.getManifest('a', DIGEST), DigestMismatchError);
  await assert.rejects(client.getManifest('a', 'lying'), DigestMismatchError);
  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const port = (spare.address() as AddressInfo).port;
  await new Promise((resolve) => spare.close(resolve));
  const closed = new RegistryClient(`127.0.0.1:${port}`);
  await assert.rejects(closed.manifestExists('a', 'v1'), (e: unknown) => e instanceof RegistryUnavailableError && /ECONNREFUSED/.test(e.message));
});

test('plain HTTP by default only for loopback hosts; insecure: false means TLS', async () => {
  const { host } = await serve((_req, _body, res) => res.writeHead(200).end());
  const port = host.split(':')[1]!;
  assert.equal(await new RegistryClient(`localhost:${port}`).manifestExists('a', 'v1'), true);
  await assert.rejects(new RegistryClient(host, { insecure: false }).manifestExists('a', 'v1'), RegistryUnavailableError);
});
