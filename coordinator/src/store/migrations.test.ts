import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreVersionError } from './errors';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations';
import { SqliteStore } from './sqlite-store';
import { sampleAttempt, sampleBuild, sampleJobs } from './store-fixtures';

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

test('version 2 upgrades a version 1 file: existing rows stay, attempts get an empty log index, agents start empty', async () => {
  const db = freshDb();
  migrate(db, 'test.db', MIGRATIONS.slice(0, 1));
  db.exec(`
    INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', '${JSON.stringify(sampleBuild('b1').spec)}', 'running', 1000);
    INSERT INTO jobs (id, build_id, idx, platform, state, attempt, queued_at, failed_on)
      VALUES ('b1-0', 'b1', 0, 'linux/amd64', 'running', 1, 1000, '[]'), ('b1-1', 'b1', 1, 'linux/arm/v7', 'queued', 0, 1000, '[]');
    INSERT INTO attempts (job_id, attempt, lease_id, agent, mode, started_at, outcome) VALUES ('b1-0', 1, 7, 'pi-1', 'native', 2001, 'running');
    UPDATE counters SET value = 7 WHERE name = 'lease';`);
  db.close();

  const store = SqliteStore.open(db.name);
  try {
    const build = { ...sampleBuild('b1'), createdAt: 1000 };
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
  assert.equal(schemaVersion(raw), 2);
  assert.deepEqual(raw.prepare(`SELECT log_path, log_bytes FROM attempts`).all(), [{ log_path: null, log_bytes: 64 }]);
  raw.close();
});
