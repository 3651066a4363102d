import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Platform } from '@archfarm/common';
import { BaseImageTimeoutError, DockerEngine } from '@archfarm/agent';
import { inspect, submitDetached, waitFor, type Inspected } from './support/builds';
import { baseImage, makeContext } from './support/context';
import { DOCKER26_HOST, requireDocker26 } from './support/docker26';
import { contextOf, DOCKER_SOCKET, requireDocker } from './support/docker';
import { silentRegistry } from './support/fault-registry';
import { TestFleet } from './support/fleet';
import { coordinatorTail, ended } from './support/lifecycle';
import { PlainRegistry } from './support/plain-registry';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

/*
 * Issue 14's acceptance: the base image's registry stopped for 20 s while a job resolves its
 * FROM image. The engine's "connection refused" is an infrastructure failure
 * (BASE_IMAGE_UNREACHABLE), so the coordinator retries the job with backoff instead of failing
 * the build as the Dockerfile's fault, and the build publishes once the registry is back.
 * The base's registry is a real one of the test's own (its own port and data dir), really
 * stopped and started again; the published image goes to the shared test registry.
 */

const OUTAGE_MS = 20_000;
// Backoff with a 3 s base: 1.5-3, 3-6, 6-12, 12-24 s; four failed attempts take at least
// 22.5 s, past the outage, so six attempts are always enough, and the test stays near a minute.
const COORDINATOR_ARGS = ['--max-attempts', '6', '--retry-base-delay', '3s'];

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function outage(agent: string, dockerHost?: string): Promise<void> {
  const base = await PlainRegistry.start();
  cleanup.push(() => base.stop());
  const from = `${base.address}/archfarm/base:1`;
  const copied = await run('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${baseImage()}`, `docker://${from}`]);
  assert.equal(copied.code, 0, copied.stderr);
  const fleet = await TestFleet.start([{ name: agent, platforms: 'linux/amd64', ...(dockerHost ? { dockerHost } : {}) }], { coordinatorArgs: COORDINATOR_ARGS });
  cleanup.push(() => fleet.stop());

  const nonce = randomBytes(4).toString('hex');
  const context = await makeContext({ Dockerfile: `FROM ${from}\nRUN echo outage-${nonce} > /outage\n` });
  const tag = `${testRegistry()}/${uniqueRepository('base-outage')}:1`;
  await base.pause();
  const down = Date.now();
  const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tag, context]);

  // The first attempt resolves FROM while the registry is down, and fails as infrastructure.
  const failedOnce = await waitFor(fleet, id, (b) => attempts(b).some((a) => a.outcome === 'failed') || ended(b), OUTAGE_MS - 2000, 'the first attempt to fail during the outage');
  assert.equal(failedOnce.state === 'failed', false, `the build failed at once: ${JSON.stringify(failedOnce.error)}`);
  await new Promise((r) => setTimeout(r, Math.max(0, down + OUTAGE_MS - Date.now())));
  await base.resume();
  const up = Date.now();

  const done = await waitFor(fleet, id, ended, 90_000, 'the build to end after the registry came back');
  assert.equal(done.state, 'published', `build ${id} ${done.state}: ${JSON.stringify(done.error)}\n${coordinatorTail(fleet)}`);
  const tries = attempts(done);
  console.log(`${agent}: ${tries.map((a) => `${a.attempt} ${a.outcome}${a.error ? ` ${a.error.code}` : ''} at +${((Date.parse(a.start) - down) / 1000).toFixed(1)} s`).join('; ')}`);
  assert.ok(tries.length >= 2, `retried: ${JSON.stringify(tries)}`);
  const first = tries[0]!;
  assert.equal(first.outcome, 'failed');
  assert.equal(first.errorKind, 'infrastructure');
  assert.equal(first.error?.code, 'BASE_IMAGE_UNREACHABLE', JSON.stringify(first.error));
  assert.match(first.error?.message ?? '', new RegExp(`registry ${base.address.replace(/\./g, '\\.')} cannot be reached .*connection refused.*retries the job`));
  // Every attempt before the registry came back failed the same way; the last one, after, built it.
  for (const a of tries.slice(0, -1)) assert.equal(a.error?.code, 'BASE_IMAGE_UNREACHABLE', JSON.stringify(a));
  const last = tries.at(-1)!;
  assert.equal(last.outcome, 'succeeded');
  assert.ok(Date.parse(last.start) >= up - 1000, `the attempt that built started after the registry was back: ${last.start} vs ${new Date(up).toISOString()}`);

  // The tag is in the target registry, and its image is FROM the base (its layers come first).
  const pushed = await skopeoInspect(tag, '--config');
  assert.equal(pushed.code, 0, pushed.stderr);
  const baseConfig = await run('skopeo', ['inspect', '--tls-verify=false', '--config', '--override-arch', 'amd64', `docker://${from}`]);
  assert.equal(baseConfig.code, 0, baseConfig.stderr);
  const layers = (text: string) => (JSON.parse(text) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  assert.deepEqual(layers(pushed.stdout).slice(0, layers(baseConfig.stdout).length), layers(baseConfig.stdout));
  const again = await inspect(fleet, id);
  assert.equal(again.digest, done.digest);
}

/** An attempt as `builds inspect --output json` prints it, with its error (support/builds.ts leaves it out). */
type Attempt = Inspected['platforms'][number]['attempts'][number] & { error?: { code: string; message: string; kind: string } | null };

function attempts(b: Inspected): Attempt[] {
  return b.platforms[0]?.attempts ?? [];
}

test('dockerd 20.10: the base image registry stopped for 20 s while the job resolves FROM; the job is retried and the build publishes', async () => {
  await requireDocker();
  await outage('outage-d20');
});

test('dockerd 26: the same outage, the same retry', async () => {
  await requireDocker26();
  await outage('outage-d26', DOCKER26_HOST);
});

test('dockerd 20.10: a base image registry that takes the connection and never answers is BASE_IMAGE_TIMEOUT after the deadline, not a build that waits forever', async () => {
  await requireDocker();
  const silent = await silentRegistry();
  cleanup.push(() => silent.stop());
  // dockerd 20.10 itself never gives up here (seen: still waiting after 150 s).
  const engine = new DockerEngine({ host: { kind: 'unix', socketPath: DOCKER_SOCKET }, resolveTimeoutMs: 5000 });
  const started = Date.now();
  await assert.rejects(
    engine.build({
      context: contextOf([{ path: 'Dockerfile', data: `FROM ${silent.address}/archfarm/base:1\nRUN true\n` }]),
      contextKey: `base-outage-${randomBytes(4).toString('hex')}`,
      platform: Platform.parse('linux/amd64'),
      buildArgs: {},
      tag: `archfarm-test/base-outage:${randomBytes(4).toString('hex')}`,
      labels: {},
      onLog: () => undefined,
    }),
    (err: unknown) => {
      assert.ok(err instanceof BaseImageTimeoutError, String(err));
      assert.equal(err.kind, 'infrastructure');
      assert.equal(err.registry, silent.address);
      return true;
    },
  );
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds >= 5 && seconds < 15, `gave up after ${seconds} s`);
});
