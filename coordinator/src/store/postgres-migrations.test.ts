import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pool, type PoolClient } from 'pg';
import { createTestDatabase, type TestDatabase } from '../testing/postgres';
import { StoreVersionError } from './errors';
import { MIGRATIONS } from './migrations';
import { PG_MIGRATIONS, pgMigrate, pgSchemaVersion, type PostgresMigration } from './postgres-migrations';
import { PostgresStore } from './postgres-store';
import { sampleBuild, sampleSchedule } from './store-fixtures';

/* PostgreSQL's schema steps: aligned with SQLite's, all or nothing, newer databases refused. */

let db: TestDatabase;
before(async () => (db = await createTestDatabase()));
after(() => db.drop());
let schemas = 0;
const freshSchema = () => `m_${++schemas}`;

/** A raw connection whose search_path is `schema` (created), for what the store must not do itself. */
async function raw<T>(schema: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: db.url, max: 1, options: `-c search_path=${schema}` });
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    return await fn(client);
  } finally {
    client.release();
    await pool.end();
  }
}

const tables = (client: PoolClient, schema: string) =>
  client.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]).then((r) => r.rows.map((x) => x.t));

test("PostgreSQL's migrations are SQLite's, numbered and described alike", () => {
  assert.deepEqual(
    PG_MIGRATIONS.map((m) => [m.version, m.description]),
    MIGRATIONS.map((m) => [m.version, m.description]),
  );
});

test('a database from a newer archfarm is refused and left untouched', async () => {
  const schema = freshSchema();
  const newer = PG_MIGRATIONS.length + 1;
  await raw(schema, async (c) => {
    await c.query(`CREATE TABLE archfarm_schema (version INTEGER NOT NULL); INSERT INTO archfarm_schema VALUES (${newer})`);
    await c.query(`CREATE TABLE builds (id TEXT PRIMARY KEY, future_column TEXT)`);
  });
  await assert.rejects(
    PostgresStore.open(db.url, { schema }),
    (err: unknown) => err instanceof StoreVersionError && err.code === 'STORE_VERSION_UNSUPPORTED' && err.found === newer && err.supported === PG_MIGRATIONS.length,
  );
  await raw(schema, async (c) => {
    assert.deepEqual(await tables(c, schema), ['archfarm_schema', 'builds']);
    assert.equal(await pgSchemaVersion(c), newer);
  });
});

test('a failing migration rolls back every step of the run', async () => {
  const schema = freshSchema();
  const broken: PostgresMigration = { version: PG_MIGRATIONS.length + 1, description: 'fails half way', sql: 'CREATE TABLE half (x INTEGER); SELECT 1 / 0' };
  await raw(schema, async (c) => {
    await assert.rejects(pgMigrate(c, 'test', [...PG_MIGRATIONS, broken]), /division by zero/);
    assert.equal(await pgSchemaVersion(c), 0);
    assert.deepEqual(await tables(c, schema), []);
  });
});

test('an upgrade runs only the pending migrations, keeping the rows of the earlier ones', async () => {
  const schema = freshSchema();
  await raw(schema, async (c) => {
    await pgMigrate(c, 'test', PG_MIGRATIONS.slice(0, 7));
    assert.equal(await pgSchemaVersion(c), 7);
    // Rows version 8 turns into legacy identities, and a build whose spec names a schedule (back-filled by 9).
    await c.query(`INSERT INTO agents (name, version, engine, platforms, slots, labels, first_seen, last_seen, connected) VALUES ('pi-1', '0.1', 'docker', '[]', 1, '{}', 100, 200, 0)`);
    await c.query(`INSERT INTO revoked_agents (name, revoked_at) VALUES ('pi-1', 300), ('gone', 400)`);
    const spec = JSON.stringify({ ...sampleBuild('b1').spec, schedule: 'nightly' });
    await c.query(`INSERT INTO builds (id, spec, state, created_at) VALUES ('b1', $1, 'published', 1)`, [spec]);
    await pgMigrate(c, 'test');
    assert.equal(await pgSchemaVersion(c), PG_MIGRATIONS.length);
    const identities = await c.query(`SELECT id, name, enrolled_at, revoked_at FROM agent_identities ORDER BY name`);
    assert.deepEqual(identities.rows, [
      { id: 'legacy-gone', name: 'gone', enrolled_at: '400', revoked_at: '400' },
      { id: 'legacy-pi-1', name: 'pi-1', enrolled_at: '100', revoked_at: '300' },
    ]);
    assert.deepEqual((await c.query(`SELECT schedule FROM builds`)).rows, [{ schedule: 'nightly' }]);
    assert.ok(!(await tables(c, schema)).includes('revoked_agents'));
  });
  const store = await PostgresStore.open(db.url, { schema });
  try {
    await store.createSchedule(sampleSchedule('nightly'));
    assert.deepEqual(
      (await store.listBuilds(5, { schedule: 'nightly' })).map((b) => b.id),
      ['b1'],
    );
  } finally {
    await store.close();
  }
});

test('coordinators opening one empty database at once migrate it once', async () => {
  const schema = freshSchema();
  const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(db.url, { schema })));
  await Promise.all(stores.map((s) => s.close()));
  await raw(schema, async (c) => {
    assert.deepEqual((await c.query(`SELECT version FROM archfarm_schema`)).rows, [{ version: PG_MIGRATIONS.length }]);
    assert.deepEqual((await c.query(`SELECT value FROM counters`)).rows, [{ value: '0' }]);
  });
});
