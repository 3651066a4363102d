import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreVersionError } from './errors';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations';
import { SqliteStore } from './sqlite-store';
import type { BuildRecord } from './store';
import { sampleAgent, sampleAttempt, sampleBuild, sampleJobs, sampleSchedule, sampleTick, sampleToken, scheduledBuild, specBeforeV3, specBeforeV6, defaultedSpec } from './store-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'archfarm-migrations-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshDb = () => new Database(join(dir, `m-${++files}.db`));
const tables = (db: Database.Database) =>
  db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .pluck()
    .all();

test('migrations are numbered 1, 2, 3... in order', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  );
});

test('a failing migration rolls back every step of the run', () => {
  const db = freshDb();
  const broken: Migration = {
    version: MIGRATIONS.length + 1,
    description: 'fails half way',
    up: (d) => {
      d.exec('CREATE TABLE half (x INTEGER)');
      throw new Error('boom');
    },
  };
  assert.throws(() => migrate(db, 'test.db', [...MIGRATIONS, broken]), /boom/);
  assert.equal(schemaVersion(db), 0);
  assert.deepEqual(tables(db), []);
  db.close();
});

test('an upgrade runs only the pending migrations; the older code then refuses the file', () => {
  const db = freshDb();
  migrate(db, 'test.db');
  db.prepare(`INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', '{}', 'running', 1)`).run();
  const next: Migration = { version: MIGRATIONS.length + 1, description: 'a new column', up: (d) => d.exec('ALTER TABLE builds ADD COLUMN note TEXT') };
  migrate(db, 'test.db', [...MIGRATIONS, next]);
  assert.equal(schemaVersion(db), next.version);
  assert.equal(db.prepare(`SELECT count(*) FROM builds`).pluck().get(), 1);
  assert.deepEqual(db.prepare(`SELECT note FROM builds`).pluck().all(), [null]);
  db.close();
  assert.throws(() => SqliteStore.open(db.name), StoreVersionError);
});

// A spec as archfarm wrote it before schema version 3, and what reading it gives now.
const v2Spec = JSON.stringify(specBeforeV3(sampleBuild('b1').spec));
const defaultedBuild = (createdAt: number): BuildRecord => ({ ...sampleBuild('b1', createdAt), spec: defaultedSpec(sampleBuild('b1').spec) });

test('a version 1 file upgrades: existing rows stay, attempts get an empty log index, agents start empty', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 1));
  db.exec(`
    INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', '${v2Spec}', 'running', 1000);
    INSERT INTO jobs (id, build_id, idx, platform, state, attempt, queued_at, failed_on)
      VALUES ('b1-0', 'b1', 0, 'linux/amd64', 'running', 1, 1000, '[]'), ('b1-1', 'b1', 1, 'linux/arm/v7', 'queued', 0, 1000, '[]');
    INSERT INTO attempts (job_id, attempt, lease_id, agent, mode, started_at, outcome) VALUES ('b1-0', 1, 7, 'pi-1', 'native', 2001, 'running');
    UPDATE counters SET value = 7 WHERE name = 'lease';`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    const build = defaultedBuild(1000);
    assert.deepEqual(await store.getBuild('b1'), {
      build,
      jobs: [{ ...sampleJobs(build)[0], state: 'running', attempt: 1 }, sampleJobs(build)[1]],
      attempts: [sampleAttempt('b1-0', 1, 7)],
    });
    assert.deepEqual(await store.listAgents(), []);
    assert.equal(await store.nextLeaseId(), 8);
    await store.setLogBytes('b1-0', 1, 64);
    assert.equal((await store.getBuild('b1'))?.attempts[0]?.logBytes, 64);
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  assert.deepEqual(raw.prepare(`SELECT log_path, log_bytes FROM attempts`).all(), [{ log_path: null, log_bytes: 64 }]);
  raw.close();
});

test('version 3 upgrades a version 2 file: rows stay, old attempts have no reason, old specs read with the defaults', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 2));
  db.exec(`
    INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', '${v2Spec}', 'running', 1000);
    INSERT INTO jobs (id, build_id, idx, platform, state, attempt, agent, mode, queued_at, failed_on)
      VALUES ('b1-0', 'b1', 0, 'linux/amd64', 'running', 1, 'pi-1', 'native', 1000, '[]'), ('b1-1', 'b1', 1, 'linux/arm/v7', 'queued', 0, NULL, NULL, 1000, '[]');
    INSERT INTO attempts (job_id, attempt, lease_id, agent, mode, started_at, outcome, log_path, log_bytes)
      VALUES ('b1-0', 1, 7, 'pi-1', 'native', 2001, 'running', 'logs/b1/b1-0.1.log', 128);
    INSERT INTO agents (name, version, engine, platforms, slots, labels, first_seen, last_seen, connected, drained)
      VALUES ('pi-1', '0.1.0', 'docker 27.1', '${JSON.stringify(sampleAgent('pi-1').platforms)}', 2, '${JSON.stringify(sampleAgent('pi-1').labels)}', 100, 150, 0, 1);
    UPDATE counters SET value = 7 WHERE name = 'lease';`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    const build = defaultedBuild(1000);
    const oldAttempt = { ...sampleAttempt('b1-0', 1, 7), logPath: 'logs/b1/b1-0.1.log', logBytes: 128 };
    assert.deepEqual(await store.getBuild('b1'), {
      build,
      jobs: [{ ...sampleJobs(build)[0], state: 'running', attempt: 1, agent: 'pi-1', mode: 'native' }, sampleJobs(build)[1]],
      attempts: [oldAttempt],
    });
    assert.deepEqual(await store.listBuilds(5), [build]);
    // Agents seen before version 5 have no Node.js version.
    const agent = sampleAgent('pi-1', 100, { lastSeen: 150, connected: false, drained: true, nodeVersion: '' });
    assert.deepEqual(await store.listAgents(), [agent]);
    assert.deepEqual(await store.getAgent('pi-1'), agent);
    await store.setAgentDrained('pi-1', false);
    assert.equal((await store.getAgent('pi-1'))?.drained, false);

    assert.equal(await store.nextLeaseId(), 8);
    await store.startAttempt({ ...sampleAttempt('b1-1', 1, 8), reason: 'native on pi-1' }, { attempt: 1, state: 'assigned' });
    assert.deepEqual((await store.getBuild('b1'))?.attempts, [oldAttempt, { ...sampleAttempt('b1-1', 1, 8), reason: 'native on pi-1' }]);
    // A build whose old spec is patched keeps reading with the defaults.
    await store.updateBuild('b1', { state: 'failed', finishedAt: 3000 });
    assert.deepEqual((await store.getBuild('b1'))?.build, { ...build, state: 'failed', finishedAt: 3000 });
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  assert.deepEqual(raw.prepare(`SELECT job_id, reason FROM attempts ORDER BY job_id`).all(), [
    { job_id: 'b1-0', reason: null },
    { job_id: 'b1-1', reason: 'native on pi-1' },
  ]);
  // The stored spec itself is not rewritten: defaults are a reading rule.
  assert.equal(raw.prepare(`SELECT spec FROM builds`).pluck().get(), v2Spec);
  raw.close();
});

test('version 4 upgrades a version 3 file: rows stay; tokens, revocations and credentials start empty', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 3));
  db.exec(`
    INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', '${JSON.stringify(sampleBuild('b1').spec)}', 'running', 1000);
    INSERT INTO agents (name, version, engine, platforms, slots, labels, first_seen, last_seen, connected, drained)
      VALUES ('pi-1', '0.1.0', 'docker 27.1', '${JSON.stringify(sampleAgent('pi-1').platforms)}', 2, '${JSON.stringify(sampleAgent('pi-1').labels)}', 100, 100, 1, 0);`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    assert.deepEqual((await store.getBuild('b1'))?.build, sampleBuild('b1'));
    assert.deepEqual(await store.listAgents(), [sampleAgent('pi-1', 100, { nodeVersion: '' })]);
    assert.equal(await store.hasAdminToken(2_000), false);
    assert.deepEqual(await store.listRegistries(), []);
    await store.createToken(sampleToken('t1', { kind: 'admin' }));
    assert.equal(await store.hasAdminToken(2_000), true);
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  assert.deepEqual(
    tables(raw).filter((t) => ['tokens', 'revoked_agents', 'registry_credentials'].includes(t as string)),
    ['registry_credentials', 'tokens'],
  );
  raw.close();
});

test('version 5 upgrades a version 4 file: known agents have an empty Node.js version until they reconnect', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 4));
  db.exec(`
    INSERT INTO agents (name, version, engine, platforms, slots, labels, first_seen, last_seen, connected, drained)
      VALUES ('pi-1', '0.1.0', 'docker 27.1', '${JSON.stringify(sampleAgent('pi-1').platforms)}', 2, '${JSON.stringify(sampleAgent('pi-1').labels)}', 100, 150, 0, 0);`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    assert.deepEqual(await store.getAgent('pi-1'), sampleAgent('pi-1', 100, { lastSeen: 150, connected: false, nodeVersion: '' }));
    await store.upsertAgent(sampleAgent('pi-1', 200, { nodeVersion: 'v18.19.0' }));
    assert.deepEqual(await store.getAgent('pi-1'), sampleAgent('pi-1', 100, { lastSeen: 200, nodeVersion: 'v18.19.0' }));
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  assert.deepEqual(raw.prepare(`SELECT node_version FROM agents`).pluck().all(), ['v18.19.0']);
  raw.close();
});

test('version 6 upgrades a version 5 file: old specs read with tags [tag], old builds and attempts have no index descriptor or bases', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 5));
  const v5Spec = JSON.stringify(specBeforeV6(sampleBuild('b1').spec));
  db.exec(`
    INSERT INTO builds (id, spec, state, created_at, digest) VALUES ('b1', '${v5Spec}', 'published', 1000, 'sha256:i');
    INSERT INTO jobs (id, build_id, idx, platform, state, attempt, agent, mode, queued_at, failed_on)
      VALUES ('b1-0', 'b1', 0, 'linux/amd64', 'succeeded', 1, 'pi-1', 'native', 1000, '[]');
    INSERT INTO attempts (job_id, attempt, lease_id, agent, mode, started_at, outcome) VALUES ('b1-0', 1, 7, 'pi-1', 'native', 2001, 'succeeded');`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    const got = await store.getBuild('b1');
    assert.deepEqual(got?.build, { ...sampleBuild('b1', 1000, 'published'), digest: 'sha256:i', spec: defaultedSpec(sampleBuild('b1').spec, 6) });
    assert.deepEqual(got?.attempts, [{ ...sampleAttempt('b1-0', 1, 7), outcome: 'succeeded' }]);
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  raw.close();
});

test('version 8 upgrades a version 7 file: known and revoked agents become legacy enrolments holding their names', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 7));
  db.exec(`
    INSERT INTO agents (name, version, engine, platforms, slots, labels, first_seen, last_seen, connected, drained)
      VALUES ('pi-1', '0.1.0', 'docker 27.1', '[]', 2, '{}', 100, 150, 0, 0), ('pi-2', '0.1.0', 'docker 27.1', '[]', 2, '{}', 110, 150, 0, 0);
    INSERT INTO revoked_agents (name, revoked_at) VALUES ('pi-2', 300), ('gone', 400);
    INSERT INTO tokens (id, hash, kind, created_at, labels, description) VALUES ('a1', '${'a'.repeat(64)}', 'admin', 1, '{}', '');`);
  db.close();
  const before = Date.now();
  const store = SqliteStore.open(db.name);
  try {
    const identities = await store.listAgentIdentities();
    assert.deepEqual(identities.map((i) => [i.name, i.revokedAt]), [['gone', 400], ['pi-1', undefined], ['pi-2', 300]]);
    for (const i of identities) assert.ok(i.legacyBefore !== undefined && i.legacyBefore >= before - 1000 && i.legacyBefore <= Date.now() + 1000, `${i.name}: legacyBefore is the migration time`);
    assert.equal((await store.listTokens())[0]?.revokedAt, undefined);
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  assert.ok(!tables(raw).includes('revoked_agents'));
  raw.close();
});

test('version 9 upgrades a version 8 file: builds keep their rows, a schedule in an old spec is back-filled, schedules start empty', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 8));
  // No archfarm wrote a schedule into a spec before version 9; the back-fill reads it anyway.
  const withSchedule = JSON.stringify(scheduledBuild('s1', 'nightly', 20).spec);
  db.exec(`
    INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', '${JSON.stringify(sampleBuild('b1').spec)}', 'running', 10);
    INSERT INTO builds (id, spec, state, created_at) VALUES ('s1', '${withSchedule}', 'running', 20);`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    assert.deepEqual(await store.listBuilds(5), [scheduledBuild('s1', 'nightly', 20), sampleBuild('b1', 10)]);
    assert.deepEqual(await store.listBuilds(5, { schedule: 'nightly' }), [scheduledBuild('s1', 'nightly', 20)]);
    assert.deepEqual(await store.listSchedules(), []);
    await store.createSchedule(sampleSchedule('nightly'));
    await store.recordTick(sampleTick('nightly', 30), { nextDueAt: 40 });
    assert.deepEqual(await store.listTicks('nightly', 5), [sampleTick('nightly', 30)]);
  } finally {
    await store.close();
  }
  const raw = new Database(db.name);
  assert.equal(schemaVersion(raw), MIGRATIONS.length);
  assert.deepEqual(raw.prepare(`SELECT id, schedule FROM builds ORDER BY id`).all(), [
    { id: 'b1', schedule: null },
    { id: 's1', schedule: 'nightly' },
  ]);
  assert.ok(tables(raw).includes('schedules') && tables(raw).includes('schedule_ticks'));
  const strict = raw.prepare(`SELECT name FROM pragma_table_list WHERE strict = 1 AND name IN ('schedules', 'schedule_ticks') ORDER BY name`).pluck().all();
  assert.deepEqual(strict, ['schedule_ticks', 'schedules']);
  raw.close();
});
