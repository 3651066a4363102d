import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageRef, Platform, createLogger } from '@archfarm/common';
import { BuildState, type BuildEvent, type CoordinatorMessage, type RegistryAuth } from '@archfarm/proto';
import { BuildManager, type BuildManagerDeps, type JobAssignment, type Publish } from './build-manager';
import type { BuildSpec } from './build';
import { LogFiles } from './log-files';
import { PublishStoppedError } from '../publish';
import { MemoryStore } from '../store';
import { DurationHistory } from '../scheduling/history';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const logger = createLogger('test', 'silent');

/** Messages sent to each agent, by name (the AgentPort). */
class Outbox {
  readonly sent = new Map<string, CoordinatorMessage[]>();
  connected = new Set<string>(['a', 'b']);
  send(agent: string, message: CoordinatorMessage): boolean {
    if (!this.connected.has(agent)) return false;
    this.sent.set(agent, [...(this.sent.get(agent) ?? []), message]);
    return true;
  }
  of(agent: string, kind: 'assign' | 'cancel'): CoordinatorMessage[] {
    return (this.sent.get(agent) ?? []).filter((m) => m.msg?.$case === kind);
  }
}

/** Lets the store's queued writes (and the sends that wait for them) land. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const index = (digest: string) => ({ digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: 100 });

async function setup(publish: Publish = async () => index(`sha256:${'f'.repeat(64)}`), extra: Partial<BuildSpec> = {}, store = new MemoryStore(), jobSpec: BuildManagerDeps['jobSpec'] = () => ({}) as never) {
  const outbox = new Outbox();
  const logs = new LogFiles(mkdtempSync(join(tmpdir(), 'archfarm-logs-')), 10);
  const settings = { maxAttempts: 2, leaseTtlMs: 1000, retryBaseMs: 1 };
  const history = new DurationHistory();
  const kept = new Map<string, RegistryAuth>();
  const credentials = { keep: (id: string, auth: RegistryAuth) => void kept.set(id, auth), recall: async (id: string) => kept.get(id), forget: (id: string) => void kept.delete(id) };
  const manager = new BuildManager({ agents: outbox, store, logs, logger, publish, settings, history, credentials, resolveSpec: async (spec) => spec, jobSpec });
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
  const submitted = await manager.submit({ ...spec, ...extra }, undefined);
  const events: BuildEvent[] = [];
  manager.watch(submitted.id, (e) => events.push(e));
  const [j1, j2] = submitted.jobs.map((j) => j.id) as [string, string];
  const job = (id: string) => manager.job(id)!;
  const build = () => manager.get(submitted.id);
  return { outbox, manager, id: submitted.id, j1, j2, job, build, events, kept };
}

const done = (id: string, attempt: number, digest = 'sha256:1') => ({ jobId: id, attempt, digest, mediaType: '', size: 0, error: undefined, bases: [] });
const failed = (id: string, attempt: number, code: string, kind: 'build' | 'infrastructure') => ({ ...done(id, attempt, ''), error: { code, message: code, kind } });

const finished = (events: BuildEvent[]) => events.map((e) => e.event).find((e) => e?.$case === 'finished')?.value as { state: BuildState; digest: string; failedPlatform: string } | undefined;

test('publishes once every platform succeeded; the Assign goes out only after the attempt is stored', async () => {
  const { outbox, manager, j1, j2, build, events } = await setup();
  manager.assign(j1, 'a', 'native', 'test');
  manager.assign(j2, 'a', 'emulated', 'test');
  assert.equal(outbox.of('a', 'assign').length, 0, 'not before the store has the attempts');
  await settle();
  assert.equal(outbox.of('a', 'assign').length, 2);
  assert.equal(manager.holdings.count('a'), 2);
  manager.finished('a', done(j1, 1));
  assert.equal(finished(events), undefined, 'no publish before every platform is done');
  manager.finished('a', done(j2, 1, 'sha256:2'));
  await settle();
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_PUBLISHED);
  assert.equal(build().digest, `sha256:${'f'.repeat(64)}`);
  assert.equal(manager.holdings.count('a'), 0);
});

test('an Assign whose job spec is still being made (a push token) is not sent once the build was cancelled meanwhile', async () => {
  let made: (a: JobAssignment) => void = () => {};
  const pending = new Promise<JobAssignment>((resolve) => (made = resolve));
  const { outbox, manager, id, j1 } = await setup(undefined, {}, undefined, () => pending);
  manager.assign(j1, 'a', 'native', 'test');
  await settle();
  assert.equal(await manager.cancel(id), 'cancelled');
  made({ spec: undefined, tokens: [] });
  await settle();
  assert.equal(outbox.of('a', 'assign').length, 0, 'the cancelled attempt is not sent');
});

test('an Assign whose job spec came late is sent while the attempt is still current', async () => {
  let made: (a: JobAssignment) => void = () => {};
  const pending = new Promise<JobAssignment>((resolve) => (made = resolve));
  const { outbox, manager, j1 } = await setup(undefined, {}, undefined, () => pending);
  manager.assign(j1, 'a', 'native', 'test');
  await settle();
  made({ spec: undefined, tokens: [] });
  await settle();
  assert.equal(outbox.of('a', 'assign').length, 1);
});

test('a failing Dockerfile fails the build at once and cancels the other platform on its agent', async () => {
  const { outbox, manager, j1, j2, job, events } = await setup();
  manager.assign(j1, 'a', 'native', 'test');
  manager.assign(j2, 'a', 'emulated', 'test');
  await settle();
  manager.finished('a', failed(j2, 1, 'BUILD_FAILED', 'build'));
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_FAILED);
  assert.equal(finished(events)?.failedPlatform, 'linux/s390x');
  assert.equal(job(j1).state, 'cancelled');
  assert.ok(outbox.of('a', 'cancel').some((m) => m.msg?.$case === 'cancel' && m.msg.value.jobId === j1));
  assert.equal(manager.holdings.count('a'), 0);
});

test('an infrastructure failure requeues with a new attempt; reports of the old attempt are fenced off', async () => {
  const { outbox, manager, j1, job, build } = await setup();
  manager.assign(j1, 'a', 'native', 'test');
  await settle();
  manager.finished('a', failed(j1, 1, 'ENGINE_UNAVAILABLE', 'infrastructure'));
  assert.equal(job(j1).state, 'queued');
  assert.ok(job(j1).failedOn.has('a'));
  manager.assign(j1, 'b', 'native', 'test');
  await settle();
  assert.equal(job(j1).attempt, 2);
  manager.started('a', j1, 1);
  assert.equal(job(j1).state, 'assigned', 'a stale Started changes nothing');
  assert.equal(outbox.of('a', 'cancel').length, 1, 'and tells the old agent to stop');
  manager.finished('b', failed(j1, 2, 'ENGINE_UNAVAILABLE', 'infrastructure'));
  assert.equal(job(j1).state, 'failed', 'the budget (2) is spent');
  assert.equal(job(j1).error?.message, 'ENGINE_UNAVAILABLE', 'the attempt count is not written into the message');
  assert.equal(build().state, 'failed');
});

test('log chunks are appended at the committed offset: resends are dropped, gaps refused, the cap holds; events carry offsets', async () => {
  const { manager, j1, events } = await setup();
  manager.assign(j1, 'a', 'native', 'test');
  await settle();
  assert.equal(manager.appendLog(undefined, j1, 1, 0, Buffer.from('abcd')), 4);
  assert.equal(manager.appendLog(undefined, j1, 1, 2, Buffer.from('cdef')), 6, 'overlap: only "ef" is new');
  assert.throws(() => manager.appendLog(undefined, j1, 1, 9, Buffer.from('x')), /resend from 6/);
  assert.throws(() => manager.appendLog(undefined, j1, 2, 6, Buffer.from('x')), /not current/);
  assert.equal(manager.appendLog(undefined, j1, 1, 6, Buffer.from('ghijkl')), 12, 'bytes past the cap count as committed');
  assert.equal(manager.appendLog(undefined, j1, 1, 12, Buffer.from('mn')), 14);
  const logs = events.flatMap((e) => (e.event?.$case === 'log' ? [e.event.value] : []));
  assert.match(logs.map((l) => Buffer.from(l.data).toString()).join(''), /^abcdefghij\n\[archfarm: log truncated/);
  assert.deepEqual(logs.map((l) => l.offset), [0, 4, 6]);
});

test('a failed publish fails the build', async () => {
  const { manager, j1, j2, build, events } = await setup(async () => {
    throw Object.assign(new Error('registry said 503'), { code: 'REGISTRY_UNAVAILABLE', kind: 'infrastructure' });
  });
  for (const j of [j1, j2]) manager.assign(j, 'a', 'native', 'test');
  await settle();
  for (const j of [j1, j2]) manager.finished('a', done(j, 1));
  await settle();
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_FAILED);
  assert.equal(build().error?.code, 'REGISTRY_UNAVAILABLE');
});

test('a heartbeat renews only the attempts it lists; an attempt it lists that moved is cancelled', async () => {
  const { outbox, manager, j1, j2, job } = await setup();
  manager.assign(j1, 'a', 'native', 'test');
  manager.assign(j2, 'a', 'native', 'test');
  await settle();
  const start = Date.now();
  manager.expireLeases(start + 500);
  assert.equal(job(j1).state, 'assigned', 'still within the lease');
  await new Promise((r) => setTimeout(r, 20));
  manager.heartbeat('a', [{ jobId: j1, attempt: 1, leaseId: job(j1).leaseId! }]);
  manager.expireLeases(start + 1010);
  assert.equal(job(j1).state, 'assigned', 'the heartbeat renewed it');
  assert.equal(job(j2).state, 'queued', 'not listed: its lease ran out');
  assert.equal(job(j2).error?.code, 'AGENT_LOST');
  manager.assign(j2, 'b', 'native', 'test');
  await settle();
  manager.heartbeat('a', [{ jobId: j2, attempt: 1, leaseId: 0 }]);
  const cancels = outbox.of('a', 'cancel');
  assert.equal(cancels.length, 1);
  assert.deepEqual(cancels[0]!.msg?.$case === 'cancel' && [cancels[0]!.msg.value.jobId, cancels[0]!.msg.value.attempt], [j2, 1]);
  assert.equal(job(j2).agent, 'b', 'the new attempt is untouched');
  manager.heartbeat('a', [{ jobId: 'forgotten-0', attempt: 3, leaseId: 0 }]);
  assert.equal(outbox.of('a', 'cancel').length, 2, 'an attempt of a build no longer known is cancelled too');
});

test('a reconnecting agent resumes the attempts it still runs; those it no longer has are lost', async () => {
  const { manager, j1, j2, job } = await setup();
  manager.assign(j1, 'a', 'native', 'test');
  manager.assign(j2, 'a', 'native', 'test');
  await settle();
  const decisions = manager.connected('a', [
    { jobId: j1, attempt: 1, leaseId: 1 },
    { jobId: 'unknown-0', attempt: 1, leaseId: 9 },
  ]);
  assert.deepEqual(decisions.map((d) => d.resume), [true, false]);
  assert.equal(job(j1).state, 'assigned');
  assert.deepEqual(manager.holdings.of('a'), [{ jobId: j1, attempt: 1 }]);
  assert.equal(job(j2).state, 'queued', 'the agent did not list it: lost, queued again');
});

test('with allowPartial a failed platform is left out and the rest is published', async () => {
  let published: string[] = [];
  const { manager, j1, j2, build, events } = await setup(async (_b, jobs) => {
    published = jobs.map((j) => j.platform.toString());
    return index(`sha256:${'e'.repeat(64)}`);
  }, { allowPartial: true });
  manager.assign(j1, 'a', 'native', 'test');
  manager.assign(j2, 'a', 'native', 'test');
  await settle();
  manager.finished('a', failed(j2, 1, 'BUILD_FAILED', 'build'));
  assert.equal(build().state, 'running', 'the other platform goes on');
  manager.finished('a', done(j1, 1));
  await settle();
  assert.deepEqual(published, ['linux/amd64']);
  assert.equal(finished(events)?.state, BuildState.BUILD_STATE_PUBLISHED);
  assert.deepEqual(build().leftOut?.map((l) => l.platform), ['linux/s390x']);
});

test('a build without its secret values (restored after a restart) does not retry a lost job: it fails with SECRETS_NOT_KEPT', async () => {
  const lost = await setup(undefined, { secretIds: ['token'] });
  lost.manager.assign(lost.j1, 'a', 'native', 'test');
  await settle();
  lost.manager.expireLeases(Date.now() + 5000);
  assert.equal(lost.job(lost.j1).state, 'failed');
  assert.equal(lost.build().error?.code, 'SECRETS_NOT_KEPT');
  assert.equal(finished(lost.events)?.state, BuildState.BUILD_STATE_FAILED);

  const kept = await setup(undefined, { secretIds: ['token'], secrets: [{ id: 'token', value: Buffer.from('v') }] });
  kept.manager.assign(kept.j1, 'b', 'native', 'test');
  await settle();
  kept.manager.expireLeases(Date.now() + 5000);
  assert.equal(kept.job(kept.j1).state, 'queued', 'with the values in memory the job is retried');
});

test('cancel while running cancels; cancel during publish stops before the index PUT or answers published', async () => {
  const running = await setup();
  running.manager.assign(running.j1, 'a', 'native', 'test');
  await settle();
  assert.equal(await running.manager.cancel(running.id), 'cancelled');
  assert.equal(await running.manager.cancel(running.id), 'cancelled', 'again: the same answer');

  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let putDone = false;
  const stoppable: Publish = async (_b, _j, stop) => {
    await gate;
    if (stop.aborted) throw new PublishStoppedError('x');
    putDone = true;
    return index(`sha256:${'d'.repeat(64)}`);
  };
  const early = await setup(stoppable);
  for (const j of [early.j1, early.j2]) early.manager.assign(j, 'a', 'native', 'test');
  await settle();
  for (const j of [early.j1, early.j2]) early.manager.finished('a', done(j, 1));
  assert.equal(early.build().state, 'publishing');
  const answer = early.manager.cancel(early.id);
  release();
  assert.equal(await answer, 'cancelled');
  assert.equal(putDone, false);
  assert.equal(finished(early.events)?.state, BuildState.BUILD_STATE_CANCELLED);

  const late = await setup(async () => index(`sha256:${'c'.repeat(64)}`));
  for (const j of [late.j1, late.j2]) late.manager.assign(j, 'a', 'native', 'test');
  await settle();
  for (const j of [late.j1, late.j2]) late.manager.finished('a', done(j, 1));
  assert.equal(await late.manager.cancel(late.id), 'published', 'the publish that was not stopped wins');
  assert.equal(late.build().digest, `sha256:${'c'.repeat(64)}`);
});

test('a restored build is resolved again with the credentials it was submitted with', async () => {
  const store = new MemoryStore();
  const first = await setup(undefined, {}, store);
  const auth = { registry: '127.0.0.1:5000', username: 'u', password: 'p' };
  first.kept.set(first.id, auth);
  const seen: Array<RegistryAuth | undefined> = [];
  const again = new BuildManager({
    agents: new Outbox(),
    store,
    logs: new LogFiles(mkdtempSync(join(tmpdir(), 'archfarm-logs-')), 10),
    logger,
    publish: async () => index(`sha256:${'f'.repeat(64)}`),
    settings: { maxAttempts: 2, leaseTtlMs: 1000, retryBaseMs: 1 },
    history: new DurationHistory(),
    credentials: { keep: () => {}, recall: async (id) => first.kept.get(id), forget: () => {} },
    resolveSpec: async (spec, given) => {
      seen.push(given);
      return { ...spec, credentials: given && { username: given.username, password: given.password } };
    },
    jobSpec: () => ({}) as never,
  });
  assert.equal(await again.restore(), 1);
  assert.deepEqual(seen, [auth]);
  assert.deepEqual(again.get(first.id).spec.credentials, { username: 'u', password: 'p' });
});
