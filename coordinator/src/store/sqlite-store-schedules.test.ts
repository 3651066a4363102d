import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreDataError } from './errors';
import { SqliteStore } from './sqlite-store';
import { sampleBuild, sampleSchedule, sampleTick, scheduledBuild } from './store-fixtures';

/* SqliteStore's schedule part beyond the contract: durability, indexes, what is on disk. */

const dir = mkdtempSync(join(tmpdir(), 'archfarm-store-schedules-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `state-${++files}.db`);

test('schedules, their ticks and the builds of each survive a reopen; builds.schedule mirrors the spec', async () => {
  const path = freshPath();
  const first = SqliteStore.open(path);
  await first.createSchedule(sampleSchedule('nightly'));
  await first.createBuild(scheduledBuild('b1', 'nightly', 10), []);
  await first.createBuild(sampleBuild('hand', 20), []);
  await first.recordTick(sampleTick('nightly', 6_000, { buildId: 'b1' }), { nextDueAt: 7_000 });
  await first.close();

  const second = SqliteStore.open(path);
  try {
    assert.deepEqual(await second.listSchedules(), [sampleSchedule('nightly', { nextDueAt: 7_000 })]);
    assert.deepEqual(await second.listTicks('nightly', 5), [sampleTick('nightly', 6_000, { buildId: 'b1' })]);
    assert.deepEqual(await second.listBuilds(5, { schedule: 'nightly' }), [scheduledBuild('b1', 'nightly', 10)]);
  } finally {
    await second.close();
  }
  const raw = new Database(path);
  assert.deepEqual(raw.prepare(`SELECT id, schedule FROM builds ORDER BY id`).all(), [
    { id: 'b1', schedule: 'nightly' },
    { id: 'hand', schedule: null },
  ]);
  assert.deepEqual(raw.prepare(`SELECT git_commit, on_base_change FROM schedule_ticks JOIN schedules ON name = schedule`).all(), [
    { git_commit: 'c'.repeat(40), on_base_change: 1 },
  ]);
  raw.close();
});

test("listBuilds' schedule filter and listTicks are served by their indexes", async () => {
  const path = freshPath();
  await SqliteStore.open(path).close();
  const raw = new Database(path);
  const plan = (sql: string) => raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => (r as { detail: string }).detail).join('; ');
  const builds = plan(`SELECT id FROM builds WHERE schedule = 'n' ORDER BY created_at DESC, rowid DESC LIMIT 5`);
  assert.match(builds, /builds_schedule/);
  assert.doesNotMatch(builds, /TEMP B-TREE/, 'no sort: the index gives the order');
  const ticks = plan(`SELECT ran_at FROM schedule_ticks WHERE schedule = 'n' ORDER BY ran_at DESC, rowid DESC LIMIT 5`);
  assert.match(ticks, /schedule_ticks_ran/);
  assert.doesNotMatch(ticks, /TEMP B-TREE/);
  raw.close();
});

test('a schedule or tick row the code does not understand fails loudly', async () => {
  const path = freshPath();
  const store = SqliteStore.open(path);
  try {
    for (const name of ['a', 'b', 'c']) await store.createSchedule(sampleSchedule(name));
    await store.recordTick(sampleTick('a', 1_000), {});
    await store.recordTick(sampleTick('b', 1_000), {});
    const raw = new Database(path);
    raw.prepare(`UPDATE schedule_ticks SET cause = 'cron' WHERE schedule = 'a'`).run();
    raw.prepare(`UPDATE schedule_ticks SET outcome = 'maybe' WHERE schedule = 'b'`).run();
    raw.prepare(`UPDATE schedules SET git = '{"url":""}' WHERE name = 'c'`).run();
    raw.close();
    await assert.rejects(store.listTicks('a', 1), (err: unknown) => err instanceof StoreDataError && /unknown value "cron"/.test(err.message));
    await assert.rejects(store.listTicks('b', 1), (err: unknown) => err instanceof StoreDataError && /unknown value "maybe"/.test(err.message));
    await assert.rejects(store.getSchedule('c'), StoreDataError);
    await assert.rejects(store.listSchedules(), StoreDataError);
  } finally {
    await store.close();
  }
});
