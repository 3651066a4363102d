import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { memoryTree } from './context-tree';
import { openSession } from './session';

const options = { tree: memoryTree([]), dockerfileDir: '', logins: new Map(), secrets: new Map(), sharedKey: 'k' };

test('an engine that answers POST /session without upgrading (Podman: 404) is SessionRefusedError', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.upgrade} ${String(req.headers['x-docker-expose-session-grpc-method'])}`);
    res.writeHead(404).end('{"message":"page not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  await assert.rejects(openSession({ ...options, host: { kind: 'tcp', host: '127.0.0.1', port } }), { code: 'ENGINE_SESSION_REFUSED', statusCode: 404 });
  // The engine is told every method the session serves, as BuildKit checks before calling one.
  assert.equal(seen.length, 1);
  for (const m of ['/moby.filesync.v1.FileSync/DiffCopy', '/moby.filesync.v1.Auth/Credentials', '/moby.buildkit.secrets.v1.Secrets/GetSecret', '/grpc.health.v1.Health/Check']) {
    assert.ok(seen[0]!.includes(m), `${m} in ${seen[0]}`);
  }
  assert.match(seen[0]!, /^POST \/session h2c /);
});

test('an engine that is not there is EngineUnavailableError', async () => {
  await assert.rejects(openSession({ ...options, host: { kind: 'unix', socketPath: '/nonexistent/docker.sock' } }), { code: 'ENGINE_UNAVAILABLE' });
});
