import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { MemoryStore, type PlatformBaseRecord, type ScheduleRecord } from '../store';
import { sampleBuild, sampleJobs, sampleSchedule } from '../store/store-fixtures';
import { Scheduler, type TickEffects } from './scheduler';

/*
 * The Scheduler's effects on a real (in-memory) store; the effects outside the store (git,
 * registries, build submission) are recorded stand-ins, so each rule is seen on its own.
 */

const BASES: PlatformBaseRecord[] = [{ platform: 'linux/amd64', ref: 'r.local/base:1', digest: 'sha256:' + 'a'.repeat(64) }];

function uploaded(name: string, over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  const s = sampleSchedule(name, { git: undefined, onBaseChange: false, nextDueAt: undefined, ...over });
  return { ...s, spec: { ...s.spec, contextDigest: 'sha256:' + 'c'.repeat(64) } };
}

function setUp(options: { failBases?: boolean } = {}) {
  const store = new MemoryStore();
  const calls = { context: 0, resolveBases: 0, submit: 0 };
  let ids = 0;
  const effects: TickEffects = {
    context: async (s) => (calls.context++, { contextDigest: s.spec.contextDigest }),
    resolveBases: async () => {
      calls.resolveBases++;
      if (options.failBases) throw new Error('registry r.local: connection refused');
      return BASES;
    },
    baseChanges: () => [],
    // A submitted build is a running build of the schedule in the store, as BuildManager makes it.
    submit: async (s) => {
      calls.submit++;
      const base = sampleBuild(`b-${++ids}`, Date.now() + ids);
      const build = { ...base, spec: { ...base.spec, schedule: s.name } };
      await store.createBuild(build, sampleJobs(build));
      return build.id;
    },
  };
  const scheduler = new Scheduler({ store, logger: pino({ level: 'silent' }), ...effects });
  return { store, calls, scheduler };
}

test('a due time passed while down runs one missed tick at start; a paused schedule none', async () => {
  const { store, calls, scheduler } = setUp();
  const past = Date.now() - 3_600_000;
  await store.createSchedule(uploaded('late', { cron: '0 3 * * *', nextDueAt: past }));
  await store.createSchedule(uploaded('off', { cron: '0 3 * * *', nextDueAt: undefined, paused: true }));
  await scheduler.start();
  await scheduler.stop();
  const ticks = await store.listTicks('late', 10);
  assert.equal(ticks.length, 1);
  assert.equal(ticks[0]!.cause, 'missed');
  assert.equal(ticks[0]!.dueAt, past);
  assert.equal(ticks[0]!.outcome, 'built');
  assert.equal(calls.submit, 1);
  assert.ok((await store.getSchedule('late'))!.nextDueAt! > Date.now(), 'the next due time is in the future again');
  assert.deepEqual(await store.listTicks('off', 10), []);
  assert.equal((await store.getSchedule('off'))!.nextDueAt, undefined);
});

test('ticks of one schedule run in turn: the second sees the first one\'s build running and skips, asking nothing', async () => {
  const { store, calls, scheduler } = setUp();
  await store.createSchedule(uploaded('pair'));
  const [a, b] = await Promise.all([scheduler.runNow('pair'), scheduler.runNow('pair')]);
  assert.equal(a.outcome, 'built');
  assert.equal(b.outcome, 'skipped');
  assert.match(b.reason, new RegExp(`build ${a.buildId} of this schedule is still running`));
  assert.deepEqual(calls, { context: 1, resolveBases: 0, submit: 1 });
  // A manual run leaves the cron's due time alone.
  assert.equal((await store.getSchedule('pair'))!.nextDueAt, undefined);
});

test('--on-base-change compares with the bases of the tick that made the last published build', async () => {
  const { store, calls, scheduler } = setUp();
  await store.createSchedule(uploaded('bases', { onBaseChange: true }));
  const first = await scheduler.runNow('bases');
  assert.deepEqual(first.bases, BASES);
  await store.updateBuild(first.buildId!, { state: 'published', finishedAt: Date.now() });
  const second = await scheduler.runNow('bases');
  assert.equal(second.outcome, 'unchanged');
  assert.equal(second.reason, `bases unchanged since build ${first.buildId} (1 image on 1 platform)`);
  assert.equal(calls.submit, 1);
});

test('a tick that cannot decide is recorded as failed with the cause, builds nothing, and the cron moves on', async () => {
  const { store, calls, scheduler } = setUp({ failBases: true });
  await store.createSchedule(uploaded('broken', { onBaseChange: true, cron: '* * * * * *' }));
  await scheduler.added((await store.getSchedule('broken'))!);
  const deadline = Date.now() + 10_000;
  while ((await store.listTicks('broken', 5)).length === 0 && Date.now() < deadline) await sleep(100);
  await scheduler.stop();
  const [tick] = await store.listTicks('broken', 5);
  assert.ok(tick, 'node-cron fired the every-second cron');
  assert.equal(tick.cause, 'scheduled');
  assert.equal(tick.outcome, 'failed');
  assert.equal(tick.reason, 'registry r.local: connection refused');
  assert.equal(calls.submit, 0);
  assert.ok((await store.getSchedule('broken'))!.nextDueAt! > tick.dueAt);
});

test('pausing clears the due time (no missed tick after a restart); resuming sets the next one', async () => {
  const { store, scheduler } = setUp();
  await store.createSchedule(uploaded('p', { cron: '0 3 * * *' }));
  await scheduler.added((await store.getSchedule('p'))!);
  assert.ok((await store.getSchedule('p'))!.nextDueAt! > Date.now());
  await scheduler.setPaused('p', true);
  assert.deepEqual([(await store.getSchedule('p'))!.paused, (await store.getSchedule('p'))!.nextDueAt], [true, undefined]);
  await scheduler.setPaused('p', false);
  assert.ok((await store.getSchedule('p'))!.nextDueAt! > Date.now());
  await scheduler.stop();
});
