import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageRef, Platform } from '@archfarm/common';
import type { ErrorInfo } from '@archfarm/proto';
import { IllegalTransitionError } from '../errors';
import type { Build, BuildSpec, BuildStateName, Job, JobStateName } from './build';
import { transition, type Effect, type LifecycleEvent } from './lifecycle';
import { BUILD_TABLE, JOB_EVENTS, JOB_TABLE, type LifecycleEventType } from './lifecycle-table';

const NOW = 1_000_000;
const settings = { maxAttempts: 3, leaseTtlMs: 30_000, retryBaseMs: 1000, random: () => 0.5 };
const infra: ErrorInfo = { code: 'ENGINE_UNAVAILABLE', message: 'engine gone', kind: 'infrastructure' };
const own: ErrorInfo = { code: 'BUILD_FAILED', message: 'exit code: 2', kind: 'build' };

const spec: BuildSpec = {
  platforms: [Platform.parse('linux/amd64'), Platform.parse('linux/arm64')],
  tag: ImageRef.parse('r.example/app:1'),
  tags: [ImageRef.parse('r.example/app:1')],
  contextDigest: `sha256:${'0'.repeat(64)}`,
  dockerfile: 'Dockerfile',
  buildArgs: {},
  target: '',
  waitTimeoutSeconds: 0,
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
};

function job(i: number, state: JobStateName, over: Partial<Job> = {}): Job {
  const held = state === 'assigned' || state === 'running';
  return {
    id: `b-${i}`,
    buildId: 'b',
    platform: spec.platforms[i]!,
    state,
    attempt: state === 'queued' ? 0 : 1,
    queuedAt: 0,
    failedOn: new Set(),
    ...(state === 'queued' ? {} : { agent: 'pi', mode: 'native' as const, startedAt: NOW - 5000 }),
    ...(held ? { leaseId: 7, leaseExpiresAt: NOW + 1000 } : {}),
    ...(state === 'succeeded' ? { digest: `sha256:${'1'.repeat(64)}` } : {}),
    ...over,
  };
}

function build(state: BuildStateName, jobs: Job[], over: Partial<Build> = {}): Build {
  return { id: 'b', spec: { ...spec, ...over.spec }, state, jobs, createdAt: 0, ...over };
}

const types = (effects: Effect[]) => effects.map((e) => e.type);

/** One event of each type, aimed at job b-0 where it names a job. */
const sample: Record<LifecycleEventType, LifecycleEvent> = {
  assign: { type: 'assign', jobId: 'b-0', agent: 'pi', mode: 'native', reason: 'native', leaseId: 8 },
  started: { type: 'started', jobId: 'b-0', attempt: 1, agent: 'pi' },
  renew: { type: 'renew', jobId: 'b-0', attempt: 1, agent: 'pi', leaseId: 7 },
  succeeded: { type: 'succeeded', jobId: 'b-0', attempt: 1, agent: 'pi', digest: `sha256:${'2'.repeat(64)}`, bases: [] },
  failed: { type: 'failed', jobId: 'b-0', attempt: 1, agent: 'pi', error: own },
  lost: { type: 'lost', jobId: 'b-0', attempt: 1, error: infra },
  cancel: { type: 'cancel' },
  fail: { type: 'fail', error: { code: 'NO_AGENT', message: 'none', kind: 'infrastructure' }, platform: 'linux/amd64' },
  'secrets-lost': { type: 'secrets-lost', error: { code: 'SECRETS_NOT_KEPT', message: 'lost', kind: 'infrastructure' } },
  published: { type: 'published', digest: `sha256:${'3'.repeat(64)}`, mediaType: 'application/vnd.oci.image.index.v1+json', size: 300 },
  'publish-failed': { type: 'publish-failed', error: infra },
  'publish-stopped': { type: 'publish-stopped' },
};
const ALL = Object.keys(sample) as LifecycleEventType[];
const JOB_STATES: JobStateName[] = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled'];
const BUILD_STATES: BuildStateName[] = ['running', 'publishing', 'published', 'failed', 'cancelled'];

test('every build state refuses the build events its table does not list, and changes nothing', () => {
  for (const state of BUILD_STATES) {
    for (const type of ALL.filter((t) => !JOB_EVENTS.has(t) && !BUILD_TABLE[state].has(t))) {
      const before = build(state, [job(0, 'succeeded'), job(1, 'succeeded')]);
      assert.throws(() => transition(before, sample[type], NOW, settings), IllegalTransitionError, `${type} in ${state}`);
    }
  }
});

test('every job state refuses the job events its table does not list (the attempt being current)', () => {
  // A queued or finished job has no current attempt: reports about one are fenced (below),
  // so what is left to refuse is assign to a job that is not queued, and started twice.
  for (const state of JOB_STATES) {
    for (const type of ALL.filter((t) => JOB_EVENTS.has(t) && !JOB_TABLE[state].has(t) && (t === 'assign' || state === 'assigned' || state === 'running'))) {
      const before = build('running', [job(0, state), job(1, 'queued')]);
      assert.throws(() => transition(before, sample[type], NOW, settings), IllegalTransitionError, `${type} on a ${state} job`);
    }
  }
});

test('a report of an attempt that is not current is fenced: nothing changes; started/renew tell the agent to stop', () => {
  const cases: Array<{ name: string; jobs: Job[]; event: LifecycleEvent; stop: boolean }> = [
    { name: 'older attempt', jobs: [job(0, 'running', { attempt: 2 }), job(1, 'queued')], event: sample.started, stop: true },
    { name: 'other agent', jobs: [job(0, 'running', { agent: 'other' }), job(1, 'queued')], event: sample.renew, stop: true },
    { name: 'job requeued', jobs: [job(0, 'queued', { attempt: 1 }), job(1, 'queued')], event: sample.renew, stop: true },
    { name: 'another lease', jobs: [job(0, 'running', { leaseId: 9 }), job(1, 'queued')], event: sample.renew, stop: true },
    { name: 'job finished', jobs: [job(0, 'succeeded'), job(1, 'queued')], event: sample.succeeded, stop: false },
    { name: 'unknown job', jobs: [job(0, 'running'), job(1, 'queued')], event: { ...sample.failed, jobId: 'b-9' } as LifecycleEvent, stop: false },
    { name: 'lost after requeue', jobs: [job(0, 'queued', { attempt: 1 }), job(1, 'queued')], event: sample.lost, stop: false },
  ];
  for (const c of cases) {
    const before = build('running', c.jobs);
    const { build: after, effects, stale } = transition(before, c.event, NOW, settings);
    assert.equal(stale, true, c.name);
    assert.equal(after, before, `${c.name}: unchanged`);
    assert.deepEqual(types(effects), c.stop ? ['stop-attempt'] : [], c.name);
  }
  // A build that ended: its jobs' late reports are stale too, never illegal.
  const ended = build('cancelled', [job(0, 'cancelled'), job(1, 'cancelled')]);
  assert.equal(transition(ended, sample.renew, NOW, settings).stale, true);
});

test('legal job transitions: the state they lead to and their effects, in order', () => {
  const cases: Array<{ name: string; jobs: Job[]; event: LifecycleEvent; job: JobStateName; build: BuildStateName; effects: string[]; over?: Partial<Build> }> = [
    {
      name: 'assign: stored, then sent, then watchers',
      jobs: [job(0, 'queued'), job(1, 'queued')],
      event: sample.assign,
      job: 'assigned',
      build: 'running',
      effects: ['start-attempt', 'send-assign', 'notify-job', 'log'],
    },
    { name: 'started', jobs: [job(0, 'assigned'), job(1, 'queued')], event: sample.started, job: 'running', build: 'running', effects: ['persist-job', 'notify-job'] },
    { name: 'renew (assigned)', jobs: [job(0, 'assigned'), job(1, 'queued')], event: sample.renew, job: 'assigned', build: 'running', effects: [] },
    { name: 'renew (running)', jobs: [job(0, 'running'), job(1, 'queued')], event: sample.renew, job: 'running', build: 'running', effects: [] },
    {
      name: 'succeeded, another platform still to go',
      jobs: [job(0, 'running'), job(1, 'queued')],
      event: sample.succeeded,
      job: 'succeeded',
      build: 'running',
      effects: ['record-duration', 'end-attempt', 'notify-job', 'queue-changed'],
    },
    {
      name: 'succeeded, the last platform: publish',
      jobs: [job(0, 'assigned'), job(1, 'succeeded')],
      event: sample.succeeded,
      job: 'succeeded',
      build: 'publishing',
      effects: ['record-duration', 'end-attempt', 'notify-job', 'queue-changed', 'persist-build', 'publish'],
    },
    {
      name: 'failed (the build\'s own): the build fails, the other job is stopped',
      jobs: [job(0, 'running'), job(1, 'running')],
      event: sample.failed,
      job: 'failed',
      build: 'failed',
      effects: ['end-attempt', 'notify-job', 'queue-changed', 'stop-attempt', 'end-attempt', 'queue-changed', 'notify-job', 'persist-build', 'log', 'ended'],
    },
    {
      name: 'failed (infrastructure, budget left): queued again',
      jobs: [job(0, 'running'), job(1, 'queued')],
      event: { ...sample.failed, error: infra } as LifecycleEvent,
      job: 'queued',
      build: 'running',
      effects: ['end-attempt', 'notify-job', 'queue-changed', 'log'],
    },
    {
      name: 'failed (infrastructure, budget spent)',
      jobs: [job(0, 'running', { attempt: 3 }), job(1, 'queued')],
      event: { ...sample.failed, attempt: 3, error: infra } as LifecycleEvent,
      job: 'failed',
      build: 'failed',
      effects: ['end-attempt', 'notify-job', 'queue-changed', 'persist-job', 'notify-job', 'persist-build', 'log', 'ended'],
    },
    { name: 'lost: queued again', jobs: [job(0, 'assigned'), job(1, 'queued')], event: sample.lost, job: 'queued', build: 'running', effects: ['end-attempt', 'notify-job', 'queue-changed', 'log'] },
    {
      name: 'lost with secrets gone: fails, not retried',
      jobs: [job(0, 'running'), job(1, 'succeeded')],
      event: sample.lost,
      job: 'failed',
      build: 'failed',
      effects: ['end-attempt', 'notify-job', 'queue-changed', 'persist-build', 'log', 'ended'],
      over: { spec: { ...spec, secretIds: ['tok'] } },
    },
    {
      name: 'failed with allowPartial: the rest is published',
      jobs: [job(0, 'running'), job(1, 'succeeded')],
      event: sample.failed,
      job: 'failed',
      build: 'publishing',
      effects: ['end-attempt', 'notify-job', 'queue-changed', 'persist-build', 'publish'],
      over: { spec: { ...spec, allowPartial: true } },
    },
  ];
  for (const c of cases) {
    const before = build('running', c.jobs, c.over);
    const { build: after, effects, stale } = transition(before, c.event, NOW, settings);
    assert.equal(stale, undefined, c.name);
    assert.equal(after.jobs[0]!.state, c.job, c.name);
    assert.equal(after.state, c.build, c.name);
    assert.deepEqual(types(effects), c.effects, c.name);
    assert.equal(before.jobs[0], c.jobs[0], `${c.name}: the input is not changed`);
    assert.equal(before.state, 'running', `${c.name}: the input is not changed`);
  }
});

test('assign opens a new attempt with a lease; a retry waits out its backoff and avoids the agent', () => {
  const assigned = transition(build('running', [job(0, 'queued', { attempt: 1, waitingReason: 'busy' }), job(1, 'queued')]), sample.assign, NOW, settings).build.jobs[0]!;
  assert.equal(assigned.attempt, 2);
  assert.equal(assigned.leaseId, 8);
  assert.equal(assigned.leaseExpiresAt, NOW + settings.leaseTtlMs);
  assert.equal(assigned.waitingReason, undefined);
  const retried = transition(build('running', [job(0, 'running'), job(1, 'queued')]), sample.lost, NOW, settings).build.jobs[0]!;
  assert.equal(retried.queuedAt, NOW);
  assert.equal(retried.notBefore, NOW + 750, 'half the base plus half the jitter (random 0.5)');
  assert.deepEqual([...retried.failedOn], ['pi']);
  assert.equal(retried.leaseExpiresAt, undefined);
  const renewed = transition(build('running', [job(0, 'running'), job(1, 'queued')]), sample.renew, NOW, settings).build.jobs[0]!;
  assert.equal(renewed.leaseExpiresAt, NOW + settings.leaseTtlMs);
});

test('legal build transitions: cancel, fail, secrets lost, and the ends of a publish', () => {
  const cases: Array<{ name: string; from: BuildStateName; jobs: Job[]; event: LifecycleEvent; to: BuildStateName; effects: string[]; stopRequested?: boolean }> = [
    {
      name: 'cancel while running: held jobs stopped, queued ones cancelled',
      from: 'running',
      jobs: [job(0, 'running'), job(1, 'queued')],
      event: sample.cancel,
      to: 'cancelled',
      effects: ['stop-attempt', 'end-attempt', 'queue-changed', 'notify-job', 'persist-job', 'notify-job', 'persist-build', 'log', 'ended'],
    },
    { name: 'fail (wait timeout)', from: 'running', jobs: [job(0, 'queued'), job(1, 'succeeded')], event: sample.fail, to: 'failed', effects: ['persist-job', 'notify-job', 'persist-build', 'log', 'ended'] },
    { name: 'secrets lost, queued jobs fail', from: 'running', jobs: [job(0, 'queued'), job(1, 'running')], event: sample['secrets-lost'], to: 'failed', effects: ['persist-job', 'notify-job', 'log', 'stop-attempt', 'end-attempt', 'queue-changed', 'notify-job', 'persist-build', 'log', 'ended'] },
    { name: 'secrets lost, nothing queued: nothing to do', from: 'running', jobs: [job(0, 'running'), job(1, 'running')], event: sample['secrets-lost'], to: 'running', effects: [] },
    { name: 'cancel while publishing: the publish is asked to stop', from: 'publishing', jobs: [job(0, 'succeeded'), job(1, 'succeeded')], event: sample.cancel, to: 'publishing', effects: ['stop-publish', 'log'], stopRequested: true },
    { name: 'published', from: 'publishing', jobs: [job(0, 'succeeded'), job(1, 'succeeded')], event: sample.published, to: 'published', effects: ['persist-build', 'log', 'ended'] },
    { name: 'publish failed', from: 'publishing', jobs: [job(0, 'succeeded'), job(1, 'succeeded')], event: sample['publish-failed'], to: 'failed', effects: ['persist-build', 'log', 'ended'] },
    { name: 'publish stopped by the cancel', from: 'publishing', jobs: [job(0, 'succeeded'), job(1, 'succeeded')], event: sample['publish-stopped'], to: 'cancelled', effects: ['persist-build', 'log', 'ended'] },
  ];
  for (const c of cases) {
    const { build: after, effects } = transition(build(c.from, c.jobs), c.event, NOW, settings);
    assert.equal(after.state, c.to, c.name);
    assert.deepEqual(types(effects), c.effects, c.name);
    if (c.stopRequested) assert.equal(after.stopRequested, true, c.name);
    if (TERMINAL.has(c.to)) assert.equal(after.finishedAt, NOW, c.name);
  }
  // A second cancel during the same publish asks nothing more.
  const asked = transition(build('publishing', [job(0, 'succeeded'), job(1, 'succeeded')]), sample.cancel, NOW, settings).build;
  assert.deepEqual(types(transition(asked, sample.cancel, NOW, settings).effects), []);
});

const TERMINAL = new Set<BuildStateName>(['published', 'failed', 'cancelled']);

test('the persist effects come before anyone hears of the change', () => {
  for (const type of ALL) {
    for (const state of BUILD_STATES) {
      if (!BUILD_TABLE[state].has(type)) continue;
      const jobs = state === 'running' ? [job(0, type === 'assign' ? 'queued' : type === 'started' ? 'assigned' : 'running'), job(1, 'running')] : [job(0, 'succeeded'), job(1, 'succeeded')];
      const { effects } = transition(build(state, jobs, { spec: { ...spec, secretIds: type === 'secrets-lost' ? ['s'] : [] } }), sample[type], NOW, settings);
      const firstWrite = types(effects).findIndex((t) => t === 'persist-job' || t === 'persist-build' || t === 'end-attempt' || t === 'start-attempt');
      const firstNotice = types(effects).findIndex((t) => t === 'notify-job' || t === 'ended' || t === 'send-assign');
      if (firstNotice >= 0) assert.ok(firstWrite >= 0 && firstWrite < firstNotice, `${type} in ${state}: ${types(effects).join(', ')}`);
    }
  }
});
