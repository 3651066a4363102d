import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageRef, Platform, createLogger } from '@archfarm/common';
import { BuildState, type BuildEvent, type CoordinatorMessage } from '@archfarm/proto';
import { Fleet, type ConnectedAgent } from '../fleet';
import { BuildManager, type Publish } from './build-manager';
import type { BuildSpec } from './build';
import { LogFiles } from './log-files';
import { MemoryStore } from '../store';
import { DurationHistory } from '../scheduling/history';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const logger = createLogger('test', 'silent');

function agent(fleet: Fleet, name: string): ConnectedAgent & { sent: CoordinatorMessage[] } {
  const sent: CoordinatorMessage[] = [];
  const a = {
    name,
    version: 't',
    nodeVersion: 'v20.11.0',
    engine: 't',
    labels: {},
    slots: 2,
    platforms: [],
    connectionId: name,
    connectedAt: 0,
    lastSeen: 0,
    jobs: new Set<string>(),
    send: (m: CoordinatorMessage) => void sent.push(m),
    close: () => {},
    sent,
  };
  fleet.add(a);
  return a;
}

const index = (digest: string) => ({ digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: 100 });

async function setup(publish: Publish = async () => index(`sha256:${'f'.repeat(64)}`), extra: Partial<BuildSpec> = {}) {
  const fleet = new Fleet();
  const logs = new LogFiles(mkdtempSync(join(tmpdir(), 'archfarm-logs-')), 10);
  const settings = { maxAttempts: 2, leaseTtlMs: 1000, retryBaseMs: 1 };
  const history = new DurationHistory();
  const manager = new BuildManager({ fleet, store: new MemoryStore(), logs, logger, publish, settings, history, crossCompile: async () => false, jobSpec: () => ({}) as never });
  await manager.restore();
  const spec: BuildSpec = {
    timeoutSeconds: 0,
    allowPartial: false,
    smokeCommand: [],
    emulation: 'prefer-native',
    requireLabels: {},
    crossCompile: false,
    labels: {},
    annotations: [],
    pull: false,
    noCache: false,
    secretIds: [],
    ...extra,
    platforms: [Platform.parse('linux/amd64'), Platform.parse('linux/s390x')],
    tag: ImageRef.parse('127.0.0.1:5000/x:1'),
    tags: [ImageRef.parse('127.0.0.1:5000/x:1')],
    contextDigest: `sha256:${'0'.repeat(64)}`,
    dockerfile: 'Dockerfile',
    buildArgs: {},
    target: '',
    waitTimeoutSeconds: 0,
  };
  const build = await manager.submit({ ...spec, ...extra });
  const events: BuildEvent[] = [];
  manager.watch(build.id, (e) => events.push(e));
  return { fleet, manager, build, events };
}

const finished = (events: BuildEvent[]) => events.map((e) => e.event).find((e) => e?.$case === 'finished')?.value as { state: BuildState; digest: string; failedPlatform: string } | undefined;

test('publishes once every platform succeeded', async () => {
  const { fleet, manager, build, events } = await setup();
  const a = agent(fleet, 'a');
  const [j1, j2] = build.jobs as [typeof build.jobs[0], typeof build.jobs[0]];
  await manager.assign(j1, a, 'native', 'test');
  await manager.assign(j2, a, 'emulated', 'test');
  manager.succeed(j1, 'sha256:1');
  assert.equal(finished(events), undefined, 'no publish before every platform is done');
  manager.succeed(j2, 'sha256:2');
  await new Promise((r) => setImmediate(r));
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_PUBLISHED);
  assert.equal(build.digest, `sha256:${'f'.repeat(64)}`);
  assert.equal(a.jobs.size, 0);
});

test('a failing Dockerfile fails the build at once and cancels the other platform on its agent', async () => {
  const { fleet, manager, build, events } = await setup();
  const a = agent(fleet, 'a');
  const [j1, j2] = build.jobs as [typeof build.jobs[0], typeof build.jobs[0]];
  await manager.assign(j1, a, 'native', 'test');
  await manager.assign(j2, a, 'emulated', 'test');
  manager.fail(j2, { code: 'BUILD_FAILED', message: 'exit code: 7', kind: 'build' });
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_FAILED);
  assert.equal(finished(events)?.failedPlatform, 'linux/s390x');
  assert.equal(j1.state, 'cancelled');
  assert.ok(a.sent.some((m) => m.msg?.$case === 'cancel' && m.msg.value.jobId === j1.id));
});

test('an infrastructure failure requeues with a new attempt; the old attempt is fenced off', async () => {
  const { fleet, manager, build } = await setup();
  const a = agent(fleet, 'a');
  const j = build.jobs[0]!;
  await manager.assign(j, a, 'native', 'test');
  manager.fail(j, { code: 'ENGINE_UNAVAILABLE', message: 'down', kind: 'infrastructure' });
  assert.equal(j.state, 'queued');
  assert.ok(j.failedOn.has('a'));
  await manager.assign(j, a, 'native', 'test');
  assert.equal(j.attempt, 2);
  assert.equal(manager.current('a', j.id, 1), undefined, 'attempt 1 is stale');
  assert.equal(manager.current('a', j.id, 2), j);
  manager.fail(j, { code: 'ENGINE_UNAVAILABLE', message: 'down', kind: 'infrastructure' });
  assert.equal(j.state, 'failed', 'the budget (2) is spent');
  assert.equal(build.state, 'failed');
});

test('log chunks are appended at the committed offset: resends are dropped, gaps refused, the cap holds', async () => {
  const { fleet, manager, build, events } = await setup();
  const j = build.jobs[0]!;
  await manager.assign(j, agent(fleet, 'a'), 'native', 'test');
  assert.equal(manager.appendLog(j.id, 1, 0, Buffer.from('abcd')), 4);
  assert.equal(manager.appendLog(j.id, 1, 2, Buffer.from('cdef')), 6, 'overlap: only "ef" is new');
  assert.throws(() => manager.appendLog(j.id, 1, 9, Buffer.from('x')), /resend from 6/);
  assert.throws(() => manager.appendLog(j.id, 2, 6, Buffer.from('x')), /not current/);
  assert.equal(manager.appendLog(j.id, 1, 6, Buffer.from('ghijkl')), 12, 'bytes past the cap count as committed');
  assert.equal(manager.appendLog(j.id, 1, 12, Buffer.from('mn')), 14);
  const text = events.flatMap((e) => (e.event?.$case === 'log' ? [Buffer.from(e.event.value.data).toString()] : [])).join('');
  assert.match(text, /^abcdefghij\n\[archfarm: log truncated/);
});

test('a failed publish fails the build and writes nothing else', async () => {
  const { fleet, manager, build, events } = await setup(async () => {
    throw Object.assign(new Error('registry said 503'), { code: 'REGISTRY_UNAVAILABLE', kind: 'infrastructure' });
  });
  const a = agent(fleet, 'a');
  for (const j of build.jobs) await manager.assign(j, a, 'native', 'test');
  for (const j of build.jobs) manager.succeed(j, 'sha256:1');
  await new Promise((r) => setImmediate(r));
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_FAILED);
  assert.equal(build.error?.code, 'REGISTRY_UNAVAILABLE');
});

test('a lease that is not renewed sends the job back to the queue; a heartbeat keeps it', async () => {
  const { fleet, manager, build } = await setup();
  const a = agent(fleet, 'a');
  const j = build.jobs[0]!;
  await manager.assign(j, a, 'native', 'test');
  manager.expireLeases(Date.now() + 500);
  assert.equal(j.state, 'assigned', 'still within the lease');
  manager.renewLeases(a);
  manager.expireLeases(Date.now() + 900);
  assert.equal(j.state, 'assigned', 'the heartbeat renewed it');
  manager.expireLeases(Date.now() + 5000);
  assert.equal(j.state, 'queued');
  assert.equal(j.error?.code, 'AGENT_LOST');
});

test('a reconnecting agent resumes the jobs it still runs; jobs it no longer has are lost', async () => {
  const { fleet, manager, build } = await setup();
  const a = agent(fleet, 'a');
  const [j1, j2] = build.jobs as [typeof build.jobs[0], typeof build.jobs[0]];
  await manager.assign(j1, a, 'native', 'test');
  await manager.assign(j2, a, 'native', 'test');
  fleet.remove(a);
  const again = agent(fleet, 'a');
  const decisions = manager.resume(again, [
    { jobId: j1.id, attempt: 1, leaseId: 1 },
    { jobId: 'unknown-0', attempt: 1, leaseId: 9 },
  ]);
  assert.deepEqual(decisions.map((d) => d.resume), [true, false]);
  assert.equal(j1.state, 'assigned');
  assert.ok(again.jobs.has(j1.id));
  assert.equal(j2.state, 'queued', 'the agent did not list it: lost, queued again');
});

test('with allowPartial a failed platform is left out and the rest is published', async () => {
  let published: string[] = [];
  const { fleet, manager, build, events } = await setup(async (_b, jobs) => {
    published = jobs.map((j) => j.platform.toString());
    return index(`sha256:${'e'.repeat(64)}`);
  }, { allowPartial: true });
  const a = agent(fleet, 'a');
  const [j1, j2] = build.jobs as [typeof build.jobs[0], typeof build.jobs[0]];
  await manager.assign(j1, a, 'native', 'test');
  await manager.assign(j2, a, 'native', 'test');
  manager.fail(j2, { code: 'BUILD_FAILED', message: 'exit code: 1', kind: 'build' });
  assert.equal(build.state, 'running', 'the other platform goes on');
  manager.succeed(j1, 'sha256:1');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(published, ['linux/amd64']);
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_PUBLISHED);
  assert.deepEqual(build.leftOut?.map((l) => l.platform), ['linux/s390x']);
});

test('a build without its secret values (restored after a restart) does not retry a lost job: it fails with SECRETS_NOT_KEPT', async () => {
  const lost = await setup(undefined, { secretIds: ['token'] });
  const a = agent(lost.fleet, 'a');
  const job = lost.build.jobs[0]!;
  await lost.manager.assign(job, a, 'native', 'test');
  lost.manager.fail(job, { code: 'AGENT_LOST', message: 'gone', kind: 'infrastructure' }, 'lost');
  assert.equal(job.state, 'failed');
  assert.equal(lost.build.error?.code, 'SECRETS_NOT_KEPT');
  assert.equal(finished(lost.events)?.state, BuildState.BUILD_STATE_FAILED);

  const kept = await setup(undefined, { secretIds: ['token'], secrets: [{ id: 'token', value: Buffer.from('v') }] });
  const b = agent(kept.fleet, 'b');
  const again = kept.build.jobs[0]!;
  await kept.manager.assign(again, b, 'native', 'test');
  kept.manager.fail(again, { code: 'AGENT_LOST', message: 'gone', kind: 'infrastructure' }, 'lost');
  assert.equal(again.state, 'queued', 'with the values in memory the job is retried');
});
