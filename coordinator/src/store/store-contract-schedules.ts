import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { StoreClosedError, StoreConflictError, StoreRecordNotFoundError } from './errors';
import type { Store } from './store';
import { IDLE_TICKS_KEPT, type ScheduleRecord, type ScheduleTickRecord } from './store-schedules';
import { sampleBuild, sampleSchedule, sampleTick, scheduledBuild, type WithStore } from './store-fixtures';

/** Schedules, their ticks and listBuilds' schedule filter: part of storeContract (./store-contract). */
export function scheduleContract(withStore: WithStore): void {
  withStore('createSchedule then getSchedule and listSchedules return the same records, by name, as copies', async (store) => {
    const nightly = sampleSchedule('nightly');
    // An uploaded context, paused: no git source and no due time, passed as undefined.
    const weekly = sampleSchedule('a-weekly', { git: undefined, paused: true, nextDueAt: undefined, onBaseChange: false, owner: '', spec: sampleBuild('w').spec });
    await store.createSchedule(nightly);
    await store.createSchedule(weekly);
    const { git: _git, nextDueAt: _due, ...bare } = weekly;
    assert.deepEqual(await store.getSchedule('nightly'), nightly);
    assert.deepEqual(await store.getSchedule('a-weekly'), bare);
    assert.equal(await store.getSchedule('nope'), undefined);
    assert.deepEqual(await store.listSchedules(), [bare, nightly]);

    const got = await store.getSchedule('nightly');
    if (got?.git) got.git.ref = 'changed';
    got?.spec.platforms.push('linux/s390x');
    nightly.spec.buildArgs.VERSION = 'changed too';
    (await store.listSchedules())[1]!.spec.tags.push('x');
    assert.deepEqual(await store.getSchedule('nightly'), sampleSchedule('nightly'));
  });

  withStore('createSchedule refuses a duplicate name and a malformed record, storing nothing', async (store) => {
    await store.createSchedule(sampleSchedule('nightly'));
    await assert.rejects(store.createSchedule(sampleSchedule('nightly', { cron: '*/5 * * * * *', createdAt: 9 })), StoreConflictError);
    assert.deepEqual(await store.getSchedule('nightly'), sampleSchedule('nightly'));
    const spec = sampleSchedule('x').spec;
    const bad: Array<[string, ScheduleRecord]> = [
      ['schedule.name', sampleSchedule('')],
      ['schedule.cron', sampleSchedule('b1', { cron: '' })],
      ['schedule.timezone', sampleSchedule('b2', { timezone: '' })],
      ['schedule.spec.emulation', sampleSchedule('b3', { spec: { ...spec, emulation: 'sometimes' as 'allow' } })],
      ['schedule.spec.schedule', sampleSchedule('b4', { spec: { ...spec, schedule: '' } })],
      ['schedule.git', sampleSchedule('b5', { git: { url: '', ref: 'main', subdir: '' } })],
      ['schedule.paused', sampleSchedule('b6', { paused: 'no' as unknown as boolean })],
      ['schedule.onBaseChange', sampleSchedule('b7', { onBaseChange: 1 as unknown as boolean })],
      ['schedule.nextDueAt', sampleSchedule('b8', { nextDueAt: -1 })],
      ['schedule.createdAt', sampleSchedule('b9', { createdAt: 1.5 })],
    ];
    for (const [field, record] of bad) {
      await assert.rejects(store.createSchedule(record), (err: unknown) => err instanceof InvalidInputError && err.field === field, field);
    }
    assert.deepEqual((await store.listSchedules()).map((s) => s.name), ['nightly']);
  });

  withStore('updateSchedule sets and clears the due time and pauses; a missing schedule is not found', async (store) => {
    await store.createSchedule(sampleSchedule('nightly'));
    await store.updateSchedule('nightly', { paused: true, nextDueAt: undefined });
    const { nextDueAt: _due, ...paused } = { ...sampleSchedule('nightly'), paused: true };
    assert.deepEqual(await store.getSchedule('nightly'), paused);
    await store.updateSchedule('nightly', { paused: false, nextDueAt: 9_000 });
    assert.deepEqual(await store.getSchedule('nightly'), sampleSchedule('nightly', { nextDueAt: 9_000 }));
    await store.updateSchedule('nightly', {});
    assert.deepEqual(await store.getSchedule('nightly'), sampleSchedule('nightly', { nextDueAt: 9_000 }));

    await assert.rejects(store.updateSchedule('nope', { paused: true }), (err: unknown) => err instanceof StoreRecordNotFoundError && err.record === 'schedule' && err.key === 'nope');
    await assert.rejects(store.updateSchedule('nightly', { paused: undefined }), InvalidInputError);
    await assert.rejects(store.updateSchedule('nightly', { nextDueAt: -5 }), InvalidInputError);
    assert.deepEqual(await store.getSchedule('nightly'), sampleSchedule('nightly', { nextDueAt: 9_000 }));
    assert.equal(await store.getSchedule('nope'), undefined);
  });

  withStore('recordTick stores the tick and moves the schedule on together; listTicks is newest first', async (store) => {
    await store.createSchedule(sampleSchedule('nightly'));
    await store.createSchedule(sampleSchedule('other'));
    const skipped = sampleTick('nightly', 7_000, { outcome: 'skipped', cause: 'missed', buildId: undefined, commit: undefined, bases: [], reason: 'build-6000 still running' });
    await store.recordTick(sampleTick('nightly', 6_000), { nextDueAt: 7_000 });
    await store.recordTick(skipped, { nextDueAt: 8_000 });
    // Same ranAt as the one before: the later insertion comes first.
    const manual = sampleTick('nightly', 7_000, { cause: 'manual', outcome: 'unchanged', buildId: undefined });
    await store.recordTick(manual, {});
    await store.recordTick(sampleTick('other', 9_000), {});

    const { buildId: _b, commit: _c, ...skippedAsStored } = skipped;
    const { buildId: _m, ...manualAsStored } = manual;
    assert.deepEqual(await store.listTicks('nightly', 10), [manualAsStored, skippedAsStored, sampleTick('nightly', 6_000)]);
    assert.deepEqual(await store.listTicks('nightly', 1), [manualAsStored]);
    assert.deepEqual(await store.listTicks('other', 10), [sampleTick('other', 9_000)]);
    assert.deepEqual(await store.listTicks('nope', 10), []);
    assert.equal((await store.getSchedule('nightly'))?.nextDueAt, 8_000);
    await assert.rejects(store.listTicks('nightly', -1), InvalidInputError);

    const got = await store.listTicks('other', 1);
    got[0]?.bases.push({ platform: 'linux/s390x', ref: 'x', digest: 'y' });
    assert.deepEqual(await store.listTicks('other', 1), [sampleTick('other', 9_000)]);
  });

  withStore('recordTick is all or nothing: a gone schedule, a bad tick or a bad patch change nothing', async (store) => {
    await store.createSchedule(sampleSchedule('nightly'));
    await assert.rejects(store.recordTick(sampleTick('gone', 6_000), { nextDueAt: 7_000 }), (err: unknown) => err instanceof StoreRecordNotFoundError && err.record === 'schedule');
    const bad: Array<[string, ScheduleTickRecord]> = [
      ['tick.cause', sampleTick('nightly', 6_000, { cause: 'cron' as 'manual' })],
      ['tick.outcome', sampleTick('nightly', 6_000, { outcome: 'maybe' as 'built' })],
      ['tick.bases', sampleTick('nightly', 6_000, { bases: [{ platform: 'linux/amd64' }] as ScheduleTickRecord['bases'] })],
      ['tick.ranAt', sampleTick('nightly', 6_000, { ranAt: -1 })],
      ['tick.dueAt', sampleTick('nightly', 6_000, { dueAt: 0.5 })],
      ['tick.schedule', sampleTick('', 6_000)],
    ];
    for (const [field, tick] of bad) {
      await assert.rejects(store.recordTick(tick, { nextDueAt: 7_000 }), (err: unknown) => err instanceof InvalidInputError && err.field === field, field);
    }
    await assert.rejects(store.recordTick(sampleTick('nightly', 6_000), { paused: undefined, nextDueAt: 7_000 }), InvalidInputError);
    assert.deepEqual(await store.listTicks('nightly', 10), []);
    assert.deepEqual(await store.getSchedule('nightly'), sampleSchedule('nightly'));
  });

  withStore('deleteSchedule takes its ticks with it and leaves its builds', async (store) => {
    await store.createSchedule(sampleSchedule('nightly'));
    await store.createBuild(scheduledBuild('b1', 'nightly', 10), []);
    await store.recordTick(sampleTick('nightly', 6_000, { buildId: 'b1' }), { nextDueAt: 7_000 });
    assert.equal(await store.deleteSchedule('nightly'), true);
    assert.equal(await store.deleteSchedule('nightly'), false);
    assert.equal(await store.getSchedule('nightly'), undefined);
    assert.deepEqual(await store.listSchedules(), []);
    assert.deepEqual(await store.listTicks('nightly', 10), []);
    await assert.rejects(store.recordTick(sampleTick('nightly', 8_000), {}), StoreRecordNotFoundError);
    assert.deepEqual((await store.listBuilds(10, { schedule: 'nightly' })).map((b) => b.id), ['b1']);
    // A new schedule of the same name starts without the old one's ticks.
    await store.createSchedule(sampleSchedule('nightly'));
    assert.deepEqual(await store.listTicks('nightly', 10), []);
  });

  withStore("listBuilds with a schedule lists only that schedule's builds, newest first; specs keep git and schedule", async (store) => {
    for (const [id, schedule, at] of [['n1', 'nightly', 10], ['w1', 'weekly', 20], ['n2', 'nightly', 30], ['n3', 'nightly', 30], ['n0', 'nightly', 5]] as const) {
      await store.createBuild(scheduledBuild(id, schedule, at), []);
    }
    await store.createBuild(sampleBuild('hand', 40), []);
    assert.deepEqual((await store.listBuilds(10, { schedule: 'nightly' })).map((b) => b.id), ['n3', 'n2', 'n1', 'n0']);
    assert.deepEqual((await store.listBuilds(2, { schedule: 'nightly' })).map((b) => b.id), ['n3', 'n2']);
    assert.deepEqual((await store.listBuilds(10, { schedule: 'weekly' })).map((b) => b.id), ['w1']);
    assert.deepEqual(await store.listBuilds(10, { schedule: 'nope' }), []);
    assert.deepEqual((await store.listBuilds(10, {})).map((b) => b.id), ['hand', 'n3', 'n2', 'w1', 'n1', 'n0']);
    assert.deepEqual((await store.getBuild('n1'))?.build, scheduledBuild('n1', 'nightly', 10));
    assert.deepEqual((await store.listBuilds(1, { schedule: 'weekly' }))[0], scheduledBuild('w1', 'weekly', 20));
    // A build submitted by hand has neither; passed as undefined they read back absent.
    await store.createBuild({ ...sampleBuild('u', 1), spec: { ...sampleBuild('u').spec, git: undefined, schedule: undefined } }, []);
    assert.deepEqual((await store.getBuild('u'))?.build, sampleBuild('u', 1));
    await assert.rejects(store.listBuilds(-1, { schedule: 'nightly' }), InvalidInputError);
  });

  withStore('createBuild refuses a spec whose git source or schedule it could not read back', async (store) => {
    const spec = scheduledBuild('x', 'nightly', 1).spec;
    const bad: Array<[string, unknown]> = [
      ['build.spec.git', { ...spec, git: { url: 'https://git.local/app.git', ref: 'main', subdir: '' } }],
      ['build.spec.git', { ...spec, git: 'https://git.local/app.git#main' }],
      ['build.spec.schedule', { ...spec, schedule: 7 }],
    ];
    for (const [field, s] of bad) {
      await assert.rejects(store.createBuild({ ...sampleBuild('b1'), spec: s as typeof spec }, []), (err: unknown) => err instanceof InvalidInputError && err.field === field, field);
    }
    assert.deepEqual(await store.listBuilds(10), []);
  });
  withStore('ticks that built nothing are kept to the newest IDLE_TICKS_KEPT; ticks that built are all kept, and listed alone with built', async (store) => {
    await store.createSchedule(sampleSchedule('busy'));
    const idle = (ranAt: number) => sampleTick('busy', ranAt, { outcome: 'unchanged', buildId: undefined, reason: 'bases unchanged' });
    await store.recordTick(sampleTick('busy', 1), {});
    for (let i = 0; i < IDLE_TICKS_KEPT + 5; i++) await store.recordTick(idle(10 + i), {});
    await store.recordTick(sampleTick('busy', 5_000), {});
    const all = await store.listTicks('busy', 10 * IDLE_TICKS_KEPT);
    assert.equal(all.length, IDLE_TICKS_KEPT + 2);
    assert.equal(all.filter((t) => t.buildId === undefined).at(-1)!.ranAt, 15, 'the five oldest idle ticks went');
    assert.deepEqual((await store.listTicks('busy', 10, { built: true })).map((t) => t.ranAt), [5_000, 1]);
  });
}

/** Every schedule method of a closed store rejects with StoreClosedError. */
export async function closedScheduleStoreRefuses(store: Store): Promise<void> {
  await assert.rejects(store.createSchedule(sampleSchedule('nightly')), StoreClosedError);
  await assert.rejects(store.getSchedule('nightly'), StoreClosedError);
  await assert.rejects(store.listSchedules(), StoreClosedError);
  await assert.rejects(store.updateSchedule('nightly', { paused: true }), StoreClosedError);
  await assert.rejects(store.deleteSchedule('nightly'), StoreClosedError);
  await assert.rejects(store.recordTick(sampleTick('nightly', 1), {}), StoreClosedError);
  await assert.rejects(store.listTicks('nightly', 1), StoreClosedError);
  await assert.rejects(store.listBuilds(1, { schedule: 'nightly' }), StoreClosedError);
}
