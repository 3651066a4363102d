import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttps } from 'node:https';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCa, RegistryClient, type RegistryClientOptions } from '@archfarm/common';

// Threat 6 (issue 15): a registry names its own token realm in its 401, and archfarm used to
// fetch whatever it named (a cloud metadata service on a link-local address, any plain-HTTP
// host) and to echo what came back in errors. Everything here is in this process, on loopback:
// a fake registry that challenges with a chosen WWW-Authenticate, and fake token servers.

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));
const CREDENTIALS = { username: 'builder', password: `pw-${randomBytes(8).toString('hex')}` };
const LEAK = `LEAKED-${randomBytes(6).toString('hex')}`;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback HTTP server; `hits` counts the requests it got. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ host: string; hits: () => number }> {
  let hits = 0;
  const host = await listen(createServer((req, res) => (hits++, handler(req, res))));
  return { host, hits: () => hits };
}

/** A registry that answers every request 401 with this challenge. */
const challenging = (challenge: string): RequestListener => (_req, res) => res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[]}');

/** The error a manifest GET ends with, within 10 s (an SSRF that hangs counts as a failure too). */
async function failure(registry: string, options: RegistryClientOptions = {}): Promise<Error & { code?: string }> {
  const client = new RegistryClient(registry, { credentials: CREDENTIALS, timeoutMs: 5000, ...options });
  const outcome = await Promise.race([
    client.getManifest('team/app', 'latest').then(() => new Error('the manifest GET succeeded'), (err: unknown) => err as Error),
    new Promise<Error>((resolve) => setTimeout(() => resolve(new Error('still waiting after 10 s: the realm was fetched')), 10_000).unref()),
  ]);
  return outcome as Error & { code?: string };
}

test('a link-local realm (the cloud metadata address, however written) is refused before any connection, naming its host', async () => {
  for (const [realm, host] of [
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', '169.254.169.254'],
    ['http://0xa9fea9fe/latest/meta-data/', '169.254.169.254'],
    ['http://[fe80::1]:8080/token', '[fe80::1]:8080'],
    ['http://0.0.0.0:9/token', '0.0.0.0:9'],
  ] as const) {
    const { host: registry } = await serve(challenging(`Bearer realm="${realm}",service="svc"`));
    const err = await failure(registry);
    assert.equal(err.code, 'TOKEN_REALM_REFUSED', `${realm}: ${err.message}`);
    assert.ok(err.message.includes(host), `${realm}: the message names the realm host: ${err.message}`);
    assert.ok(!err.message.includes('meta-data') && !err.message.includes('/token'), `${realm}: not its path: ${err.message}`);
    assert.ok(!err.message.includes(CREDENTIALS.password));
  }
});

test("a realm whose host name resolves to a link-local address is refused: the resolved address is checked, not only the literal", async () => {
  const { host: registry } = await serve(challenging('Bearer realm="http://metadata.internal/computeMetadata/v1/token",service="svc"'));
  const resolveHost = async (name: string) => (name === 'metadata.internal' ? ['10.1.2.3', '169.254.169.254'] : []);
  const err = await failure(registry, { resolveHost });
  assert.equal(err.code, 'TOKEN_REALM_REFUSED', err.message);
  assert.match(err.message, /metadata\.internal.*resolves to a link-local address \(169\.254\.169\.254\)/);
});

test('a plain-http realm on another host is refused for a registry spoken to over https', async () => {
  // The registry's certificate is self-signed: what is tested here is the realm, not TLS.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const tls = await createCa('hostile registry');
  const https = createHttps({ cert: tls.certPem, key: tls.keyPem }, challenging('Bearer realm="http://auth.remote.example/token",service="svc"'));
  const registry = await listen(https as unknown as Server);
  const err = await failure(registry, { insecure: false });
  assert.equal(err.code, 'TOKEN_REALM_REFUSED', err.message);
  assert.match(err.message, /token server auth\.remote\.example.*plain http/);
  // The same realm for a registry marked insecure (plain HTTP already) is allowed: it is fetched
  // (and fails to resolve), instead of being refused.
  const { host: plain } = await serve(challenging('Bearer realm="http://auth.remote.example/token",service="svc"'));
  const allowed = await failure(plain, { insecure: true });
  assert.equal(allowed.code, 'REGISTRY_UNAVAILABLE', allowed.message);
  assert.match(allowed.message, /token server auth\.remote\.example unreachable/);
});

test('a realm that redirects is not followed (the redirect could point anywhere)', async () => {
  const target = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"stolen"}'));
  const realm = await serve((_req, res) => res.writeHead(302, { location: `http://${target.host}/latest/meta-data/` }).end());
  const { host: registry } = await serve(challenging(`Bearer realm="http://${realm.host}/token",service="svc"`));
  const err = await failure(registry);
  assert.equal(realm.hits(), 1);
  assert.equal(target.hits(), 0, 'the redirect target was never asked');
  assert.equal(err.code, 'REGISTRY_PROTOCOL', err.message);
  assert.ok(err.message.includes(realm.host) && err.message.includes('redirect'), err.message);
});

test("nothing a realm (or the registry's challenge) answers is echoed in errors: only its host and status", async () => {
  const answers: Array<[number, string, string]> = [
    [400, 'text/plain', `bad request ${LEAK}`],
    [401, 'application/json', JSON.stringify({ details: LEAK })],
    [404, 'text/html', `<html>${LEAK}</html>`],
    [500, 'text/plain', `internal ${LEAK}`],
    [200, 'text/plain', `not json ${LEAK}`],
    [200, 'application/json', JSON.stringify({ error: LEAK })],
    [200, 'application/json', JSON.stringify({ token: { nested: LEAK } })],
  ];
  for (const [status, type, body] of answers) {
    const realm = await serve((_req, res) => res.writeHead(status, { 'content-type': type }).end(body));
    const { host: registry } = await serve(challenging(`Bearer realm="http://${realm.host}/token",service="svc"`));
    const err = await failure(registry);
    assert.ok(!`${err.message} ${String(err.cause ?? '')}`.includes(LEAK), `HTTP ${status} ${type}: ${err.message}`);
    assert.ok(err.message.includes(`token server ${realm.host}`), `HTTP ${status}: names the realm host: ${err.message}`);
  }
  // A challenge no scheme of which archfarm speaks: said so, not quoted (in any case).
  const { host: registry } = await serve(challenging(`Negotiate ${LEAK}, Mutual realm="${LEAK}"`));
  const err = await failure(registry);
  assert.equal(err.code, 'REGISTRY_AUTH', err.message);
  assert.ok(!err.message.toLowerCase().includes(LEAK.toLowerCase()), err.message);
  assert.match(err.message, /no Basic or Bearer challenge/);
});
