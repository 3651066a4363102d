import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { createLogger } from '@archfarm/common';
import { BuildServiceClient, type SubmitBuildResponse } from '@archfarm/proto';
import { Coordinator } from '../coordinator';
import { SqliteStore } from '../store';
import { call, ScriptedAgent, submitRequest, uploadDockerfile } from '../testing/in-process';
import { freePort } from '../testing/free-port';

/*
 * /healthz and /readyz of a real coordinator in this process, over a real socket. The store's
 * opening is held back (CoordinatorDeps.openStore waits for the test), so "not ready before
 * the store is open" is seen every time, not only when a probe happens to be early.
 */

const logger = createLogger('test', 'silent');

async function status(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 'refused';
  }
}

test('/readyz: 503 while the store is not open, 200 once serving, 503 again while stopping; /healthz 200 throughout', async () => {
  const port = await freePort();
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let storeAsked = false;
  const openStore = async (path: string, options: Parameters<typeof SqliteStore.open>[1]) => {
    storeAsked = true;
    await held;
    return SqliteStore.open(path, options);
  };
  const starting = Coordinator.start(
    { listen: '127.0.0.1:0', dataDir: mkdtempSync(join(tmpdir(), 'archfarm-ready-')), insecure: true, heartbeatIntervalMs: 1000, leaseTtlMs: 60_000, httpListen: `127.0.0.1:${port}` },
    logger,
    { openStore },
  );
  while (!storeAsked) await new Promise((r) => setTimeout(r, 5));

  assert.equal(await status(url('/healthz')), 200, 'alive while the store is being opened');
  assert.equal(await status(url('/readyz')), 503, 'not ready before the store is open');
  const early = await fetch(url('/metrics'));
  assert.equal(early.status, 200, 'metrics are served before the store opens');
  assert.match(await early.text(), /^# TYPE archfarm_builds_total counter$/m);

  release();
  const coordinator = await starting;
  assert.equal(coordinator.httpPort, port);
  assert.equal(await status(url('/readyz')), 200, 'ready once the store is open and gRPC serves');

  // An open WatchBuild keeps the gRPC server from finishing its graceful shutdown, so the
  // coordinator stays in 'stopping' until the test ends that call.
  const builds = new BuildServiceClient(`127.0.0.1:${coordinator.port}`, credentials.createInsecure());
  const agent = new ScriptedAgent(coordinator.port, 'ready-a', ['linux/amd64']);
  const digest = await uploadDockerfile(builds, 'FROM scratch\n');
  const { buildId } = await call<ReturnType<typeof submitRequest>, SubmitBuildResponse>(builds.submitBuild.bind(builds), submitRequest(digest, { tag: '127.0.0.1:5000/ready:1' }));
  await agent.assigned(1);
  const watch = builds.watchBuild({ buildId, resume: false, logs: [] });
  watch.on('error', () => {});
  await new Promise((resolve) => watch.once('data', resolve));

  const stopping = coordinator.stop(60_000);
  assert.equal(await status(url('/readyz')), 503, 'not ready while stopping');
  assert.equal(await status(url('/healthz')), 200, 'still alive while stopping');
  watch.cancel();
  agent.close();
  await stopping;
  builds.close();
  assert.equal(await status(url('/healthz')), 'refused', 'the listener closes with the coordinator');
});

test('a coordinator whose start fails closes its HTTP listener', async () => {
  const port = await freePort();
  const failing = () => Promise.reject(new Error('disk on fire'));
  const dataDir = mkdtempSync(join(tmpdir(), 'archfarm-ready-'));
  await assert.rejects(Coordinator.start({ listen: '127.0.0.1:0', dataDir, insecure: true, httpListen: `127.0.0.1:${port}` }, logger, { openStore: failing }), /disk on fire/);
  assert.equal(await status(`http://127.0.0.1:${port}/healthz`), 'refused');
});
