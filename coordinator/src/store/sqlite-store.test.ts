import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreDataError, StoreVersionError } from './errors';
import { MIGRATIONS } from './migrations';
import { SqliteStore } from './sqlite-store';
import { storeContract } from './store-contract';
import { sampleAgent, sampleAttempt, sampleBuild, sampleJobs } from './store-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'archfarm-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `state-${++files}.db`);

storeContract('SqliteStore', async () => SqliteStore.open(freshPath()));

test('a reopened store (a coordinator restart) has everything the first one wrote', async () => {
  const path = freshPath();
  const first = SqliteStore.open(path);
  const running = sampleBuild('run', 10);
  await first.createBuild(running, sampleJobs(running));
  await first.startAttempt({ ...sampleAttempt('run-0', 1, await first.nextLeaseId()), reason: 'native on pi-1' }, { attempt: 1, state: 'running', agent: 'pi-1', mode: 'native' });
  await first.endAttempt('run-0', 1, { outcome: 'lost', endedAt: 50, error: { code: 'AGENT_LOST', message: 'gone', kind: 'infrastructure' } });
  await first.updateJob('run-0', { state: 'queued', failedOn: ['pi-1'], notBefore: 60 });
  const done = sampleBuild('done', 5);
  await first.createBuild(done, sampleJobs(done));
  await first.updateBuild('done', { state: 'published', digest: 'sha256:i', finishedAt: 40 });
  const before = { run: await first.getBuild('run'), done: await first.getBuild('done'), list: await first.listBuilds(10), unfinished: await first.unfinishedBuilds() };
  await first.close();

  const second = SqliteStore.open(path);
  try {
    assert.deepEqual({ run: await second.getBuild('run'), done: await second.getBuild('done'), list: await second.listBuilds(10), unfinished: await second.unfinishedBuilds() }, before);
    assert.deepEqual(
      before.unfinished.map((b) => b.build.id),
      ['run'],
    );
  } finally {
    await second.close();
  }
});

test('agents and the log index survive a reopen; a restart then marks every agent disconnected', async () => {
  const path = freshPath();
  const first = SqliteStore.open(path);
  const build = sampleBuild('b1');
  await first.createBuild(build, sampleJobs(build));
  await first.startAttempt({ ...sampleAttempt('b1-0', 1, 1), logPath: 'logs/b1/b1-0.1.log' }, { attempt: 1 });
  await first.setLogBytes('b1-0', 1, 2_048);
  await first.upsertAgent(sampleAgent('pi-1', 100, { drained: true }));
  await first.upsertAgent(sampleAgent('pi-2', 100, { connected: false, lastSeen: 150 }));
  await first.upsertAgent(sampleAgent('pi-3', 100));
  await first.setAgentDrained('pi-3', true);
  await first.close();

  const second = SqliteStore.open(path);
  try {
    assert.deepEqual((await second.getBuild('b1'))?.attempts, [{ ...sampleAttempt('b1-0', 1, 1), logPath: 'logs/b1/b1-0.1.log', logBytes: 2_048 }]);
    await second.markAllDisconnected(5_000);
    assert.deepEqual(await second.listAgents(), [
      sampleAgent('pi-1', 100, { drained: true, connected: false, lastSeen: 5_000 }),
      sampleAgent('pi-2', 100, { connected: false, lastSeen: 150 }),
      sampleAgent('pi-3', 100, { drained: true, connected: false, lastSeen: 5_000 }),
    ]);
    assert.equal((await second.getAgent('pi-3'))?.drained, true);
  } finally {
    await second.close();
  }
});

test('lease ids keep increasing across reopen', async () => {
  const path = freshPath();
  const first = SqliteStore.open(path);
  await first.nextLeaseId();
  const last = await first.nextLeaseId();
  await first.close();
  const second = SqliteStore.open(path);
  assert.equal(await second.nextLeaseId(), last + 1);
  await second.close();
});

test('two connections to one file never hand out the same lease id', async () => {
  const path = freshPath();
  const a = SqliteStore.open(path);
  const b = SqliteStore.open(path);
  const ids: number[] = [];
  for (let i = 0; i < 20; i++) ids.push(await (i % 2 ? a : b).nextLeaseId());
  await Promise.all([a.close(), b.close()]);
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
  assert.equal(new Set(ids).size, ids.length);
});

test('a process killed with SIGKILL right after a commit loses nothing', async () => {
  const path = freshPath();
  const child = `
    const { SqliteStore } = require(${JSON.stringify(require.resolve('./sqlite-store'))});
    const { sampleBuild, sampleJobs } = require(${JSON.stringify(require.resolve('./store-fixtures'))});
    (async () => {
      const store = SqliteStore.open(${JSON.stringify(path)});
      const build = sampleBuild('crash');
      await store.createBuild(build, sampleJobs(build));
      process.stdout.write(String(await store.nextLeaseId()));
      process.kill(process.pid, 'SIGKILL');
    })();`;
  const run = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8' });
  assert.equal(run.signal, 'SIGKILL', run.stderr);
  assert.ok(statSync(`${path}-wal`).size > 0, 'the commits are in the WAL, not yet checkpointed');
  const store = SqliteStore.open(path);
  try {
    assert.equal((await store.getBuild('crash'))?.jobs.length, 2);
    assert.equal(await store.nextLeaseId(), Number(run.stdout) + 1);
  } finally {
    await store.close();
  }
});

test('a database from a newer archfarm is refused and left untouched', () => {
  const path = freshPath();
  const raw = new Database(path);
  raw.exec('CREATE TABLE builds (id TEXT PRIMARY KEY, future_column TEXT)');
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  raw.close();
  const bytes = readFileSync(path);
  assert.throws(
    () => SqliteStore.open(path),
    (err: unknown) => err instanceof StoreVersionError && err.code === 'STORE_VERSION_UNSUPPORTED' && err.found === MIGRATIONS.length + 1 && err.supported === MIGRATIONS.length,
  );
  assert.deepEqual(readFileSync(path), bytes);
});

test('opens with WAL, the chosen synchronous level and foreign keys', async () => {
  const pragmas = (store: SqliteStore) => {
    const db = (store as unknown as { db: Database.Database }).db;
    return ['journal_mode', 'synchronous', 'foreign_keys', 'user_version'].map((p) => db.pragma(p, { simple: true }));
  };
  const full = SqliteStore.open(freshPath());
  assert.deepEqual(pragmas(full), ['wal', 2, 1, MIGRATIONS.length]);
  await full.close();
  const normal = SqliteStore.open(freshPath(), { synchronous: 'normal' });
  assert.deepEqual(pragmas(normal), ['wal', 1, 1, MIGRATIONS.length]);
  await normal.close();
});

test('listBuilds and unfinishedBuilds are served by their indexes', async () => {
  const path = freshPath();
  await SqliteStore.open(path).close();
  const raw = new Database(path);
  const plan = (sql: string) => raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => (r as { detail: string }).detail).join('; ');
  assert.match(plan('SELECT id FROM builds ORDER BY created_at DESC, rowid DESC LIMIT 5'), /builds_created/);
  assert.match(plan(`SELECT id FROM builds WHERE state IN ('running', 'publishing') ORDER BY created_at, rowid`), /builds_unfinished/);
  raw.close();
});

test('a row the code does not understand fails loudly', async () => {
  const path = freshPath();
  const store = SqliteStore.open(path);
  await store.createBuild(sampleBuild('b1'), []);
  const raw = new Database(path);
  raw.prepare(`UPDATE builds SET state = 'smoke-testing' WHERE id = 'b1'`).run();
  raw.close();
  await assert.rejects(store.getBuild('b1'), StoreDataError);
  await store.upsertAgent(sampleAgent('pi-1'));
  const raw2 = new Database(path);
  raw2.prepare(`UPDATE agents SET platforms = '[{"platform":"linux/arm64","mode":"rosetta"}]'`).run();
  raw2.close();
  await assert.rejects(store.listAgents(), StoreDataError);
  await assert.rejects(store.getAgent('pi-1'), StoreDataError);

  await store.createBuild(sampleBuild('b2'), []);
  await store.createBuild(sampleBuild('b3'), []);
  const raw3 = new Database(path);
  raw3.prepare(`UPDATE builds SET spec = json_set(spec, '$.emulation', 'sometimes') WHERE id = 'b2'`).run();
  raw3.prepare(`UPDATE builds SET spec = json_set(spec, '$.requireLabels', json('{"site":1}')) WHERE id = 'b3'`).run();
  raw3.close();
  await assert.rejects(store.getBuild('b2'), StoreDataError);
  await assert.rejects(store.getBuild('b3'), StoreDataError);
  await store.close();
});
