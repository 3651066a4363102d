import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreVersionError } from './errors';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations';
import { SqliteStore } from './sqlite-store';

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
