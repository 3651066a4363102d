import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidInputError } from '@archfarm/common';
import type { SubmitBuildResponse } from '@archfarm/proto';
import { compileOptions } from '../options';
import { createTestDatabase, type TestDatabase } from '../testing/postgres';
import { call, capturingLogger, startCoordinator, submitRequest, uploadDockerfile } from '../testing/in-process';
import { StoreInUseError } from './errors';
import { PostgresStore } from './postgres-store';
import { SQLITE_FILE } from './store-location';

/* archfarm-coordinator --store postgres://...: a real coordinator in this process on the test cluster. */

let db: TestDatabase;
before(async () => (db = await createTestDatabase()));
after(() => db.drop());

test('a coordinator keeps its builds in PostgreSQL, resumes them from there, and refuses a second coordinator on the database', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'archfarm-pg-coordinator-'));
  const first = await startCoordinator(dataDir, capturingLogger([]), { store: db.url });
  const ids: string[] = [];
  try {
    const context = await uploadDockerfile(first.builds, 'FROM scratch\nCOPY Dockerfile /\n');
    // No agent serves linux/amd64 here: each build stays running until cancelled.
    for (const n of [1, 2]) {
      const submitted = await call<ReturnType<typeof submitRequest>, SubmitBuildResponse>(first.builds.submitBuild.bind(first.builds), submitRequest(context, { tag: `127.0.0.1:5000/pg-test:${n}` }));
      ids.push(submitted.buildId);
    }
    await call(first.builds.cancelBuild.bind(first.builds), { buildId: ids[0]! });
    await assert.rejects(startCoordinator(mkdtempSync(join(tmpdir(), 'archfarm-pg-second-')), capturingLogger([]), { store: db.url }), StoreInUseError);
  } finally {
    first.builds.close();
    await first.coordinator.stop(1000);
  }
  assert.equal(existsSync(join(dataDir, SQLITE_FILE)), false, 'no SQLite file beside a PostgreSQL store');

  const lines: string[] = [];
  const second = await startCoordinator(dataDir, capturingLogger(lines), { store: db.url });
  try {
    assert.ok(lines.some((l) => l.includes('resumed unfinished builds') && l.includes('"builds":1')), 'the running build is resumed from PostgreSQL');
  } finally {
    second.builds.close();
    await second.coordinator.stop(1000);
  }
  const store = await PostgresStore.open(db.url);
  try {
    assert.deepEqual(
      (await store.listBuilds(10)).map((b) => [b.id, b.state]),
      [
        [ids[1], 'running'],
        [ids[0], 'cancelled'],
      ],
    );
  } finally {
    await store.close();
  }
});

test('--store takes a PostgreSQL URL or nothing (the SQLite file in the data dir), and never shows a password', () => {
  assert.deepEqual(compileOptions({ dataDir: '/d' }).store, { kind: 'sqlite', path: `/d/${SQLITE_FILE}` });
  assert.deepEqual(compileOptions({ store: 'postgresql://u@db:5432/farm' }).store, { kind: 'postgres', url: 'postgresql://u@db:5432/farm' });
  assert.throws(
    () => compileOptions({ store: 'mysql://u:hunter2@db/farm' }),
    (err: unknown) => err instanceof InvalidInputError && err.field === '--store' && !err.message.includes('hunter2'),
  );
  assert.throws(() => compileOptions({ store: '/var/lib/archfarm/other.db' }), InvalidInputError);
});
