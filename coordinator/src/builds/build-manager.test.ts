import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageRef, Platform, createLogger } from '@archfarm/common';
import { BuildState, type BuildEvent, type CoordinatorMessage } from '@archfarm/proto';
import { Fleet, type ConnectedAgent } from '../fleet';
import { BuildManager, type Publish } from './build-manager';
import type { BuildSpec } from './build';

const logger = createLogger('test', 'silent');

function agent(fleet: Fleet, name: string): ConnectedAgent & { sent: CoordinatorMessage[] } {
  const sent: CoordinatorMessage[] = [];
  const a = {
    name,
    version: 't',
    engine: 't',
    labels: {},
    slots: 2,
    platforms: [],
    connectionId: name,
    connectedAt: 0,
    jobs: new Set<string>(),
    send: (m: CoordinatorMessage) => void sent.push(m),
    close: () => {},
    sent,
  };
  fleet.add(a);
  return a;
}

function setup(publish: Publish = async () => `sha256:${'f'.repeat(64)}`) {
  const fleet = new Fleet();
  const manager = new BuildManager({ fleet, logger, publish, maxAttempts: 2, maxLogBytes: 10, jobSpec: () => ({}) as never });
  const spec: BuildSpec = {
    platforms: [Platform.parse('linux/amd64'), Platform.parse('linux/s390x')],
    tag: ImageRef.parse('127.0.0.1:5000/x:1'),
    contextDigest: `sha256:${'0'.repeat(64)}`,
    dockerfile: 'Dockerfile',
    buildArgs: {},
    target: '',
    waitTimeoutSeconds: 0,
  };
  const build = manager.submit(spec);
  const events: BuildEvent[] = [];
  manager.watch(build.id, (e) => events.push(e));
  return { fleet, manager, build, events };
}

const finished = (events: BuildEvent[]) => events.map((e) => e.event).find((e) => e?.$case === 'finished')?.value as { state: BuildState; digest: string; failedPlatform: string } | undefined;

test('publishes once every platform succeeded', async () => {
  const { fleet, manager, build, events } = setup();
  const a = agent(fleet, 'a');
  const [j1, j2] = build.jobs as [typeof build.jobs[0], typeof build.jobs[0]];
  manager.assign(j1, a, 'native');
  manager.assign(j2, a, 'emulated');
  manager.succeed(j1, 'sha256:1');
  assert.equal(finished(events), undefined, 'no publish before every platform is done');
  manager.succeed(j2, 'sha256:2');
  await new Promise((r) => setImmediate(r));
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_PUBLISHED);
  assert.equal(build.digest, `sha256:${'f'.repeat(64)}`);
  assert.equal(a.jobs.size, 0);
});

test('a failing Dockerfile fails the build at once and cancels the other platform on its agent', () => {
  const { fleet, manager, build, events } = setup();
  const a = agent(fleet, 'a');
  const [j1, j2] = build.jobs as [typeof build.jobs[0], typeof build.jobs[0]];
  manager.assign(j1, a, 'native');
  manager.assign(j2, a, 'emulated');
  manager.fail(j2, { code: 'BUILD_FAILED', message: 'exit code: 7', kind: 'build' });
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_FAILED);
  assert.equal(finished(events)?.failedPlatform, 'linux/s390x');
  assert.equal(j1.state, 'cancelled');
  assert.ok(a.sent.some((m) => m.msg?.$case === 'cancel' && m.msg.value.jobId === j1.id));
});

test('an infrastructure failure requeues with a new attempt; the old attempt is fenced off', () => {
  const { fleet, manager, build } = setup();
  const a = agent(fleet, 'a');
  const j = build.jobs[0]!;
  manager.assign(j, a, 'native');
  manager.fail(j, { code: 'ENGINE_UNAVAILABLE', message: 'down', kind: 'infrastructure' });
  assert.equal(j.state, 'queued');
  assert.ok(j.failedOn.has('a'));
  manager.assign(j, a, 'native');
  assert.equal(j.attempt, 2);
  assert.equal(manager.current('a', j.id, 1), undefined, 'attempt 1 is stale');
  assert.equal(manager.current('a', j.id, 2), j);
  manager.fail(j, { code: 'ENGINE_UNAVAILABLE', message: 'down', kind: 'infrastructure' });
  assert.equal(j.state, 'failed', 'the budget (2) is spent');
  assert.equal(build.state, 'failed');
});

test('log chunks are appended at the committed offset: resends are dropped, gaps refused, the cap holds', () => {
  const { fleet, manager, build, events } = setup();
  const j = build.jobs[0]!;
  manager.assign(j, agent(fleet, 'a'), 'native');
  assert.equal(manager.appendLog(j.id, 1, 0, Buffer.from('abcd')), 4);
  assert.equal(manager.appendLog(j.id, 1, 2, Buffer.from('cdef')), 6, 'overlap: only "ef" is new');
  assert.throws(() => manager.appendLog(j.id, 1, 9, Buffer.from('x')), /resend from 6/);
  assert.throws(() => manager.appendLog(j.id, 2, 6, Buffer.from('x')), /not current/);
  manager.appendLog(j.id, 1, 6, Buffer.from('ghijkl'));
  const text = events.flatMap((e) => (e.event?.$case === 'log' ? [Buffer.from(e.event.value.data).toString()] : [])).join('');
  assert.match(text, /^abcdefghij\n\[archfarm: log truncated/);
});

test('a failed publish fails the build and writes nothing else', async () => {
  const { fleet, manager, build, events } = setup(async () => {
    throw Object.assign(new Error('registry said 503'), { code: 'REGISTRY_UNAVAILABLE', kind: 'infrastructure' });
  });
  const a = agent(fleet, 'a');
  for (const j of build.jobs) manager.assign(j, a, 'native');
  for (const j of build.jobs) manager.succeed(j, 'sha256:1');
  await new Promise((r) => setImmediate(r));
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_FAILED);
  assert.equal(build.error?.code, 'REGISTRY_UNAVAILABLE');
});
