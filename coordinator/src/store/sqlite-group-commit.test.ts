import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreClosedError, StoreConflictError, StoreRecordNotFoundError } from './errors';
import { SqliteStore } from './sqlite-store';
import { sampleAgent, sampleAttempt, sampleBuild, sampleJobs } from './store-fixtures';

/* GroupCommit (./sqlite-group-commit) as SqliteStore uses it, seen from a second connection to the file. */

const dir = mkdtempSync(join(tmpdir(), 'archfarm-group-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `state-${++files}.db`);

/** What another connection (another process) sees committed in the file at `path`. */
function committed(path: string) {
  const other = new Database(path, { readonly: true });
  try {
    const jobs = other.prepare('SELECT id, state FROM jobs ORDER BY id').all() as Array<{ id: string; state: string }>;
    return {
      builds: (other.prepare('SELECT id, state FROM builds ORDER BY id').all() as Array<{ id: string; state: string }>).map((b) => `${b.id}:${b.state}`),
      jobs: jobs.map((j) => `${j.id}:${j.state}`),
      attempts: (other.prepare('SELECT job_id, attempt FROM attempts ORDER BY job_id, attempt').all() as Array<{ job_id: string; attempt: number }>).map((a) => `${a.job_id}#${a.attempt}`),
      agents: (other.prepare('SELECT name FROM agents ORDER BY name').pluck().all() as string[]),
    };
  } finally {
    other.close();
  }
}

/** A store at a fresh path holding build b1 (jobs b1-0, b1-1, queued), committed. */
async function storeWithBuild(): Promise<{ store: SqliteStore; path: string }> {
  const path = freshPath();
  const store = SqliteStore.open(path);
  const build = sampleBuild('b1');
  await store.createBuild(build, sampleJobs(build));
  return { store, path };
}

test('writes of one turn share one transaction: another connection sees none of them until they are awaited, then all', async () => {
  const { store, path } = await storeWithBuild();
  try {
    const before = committed(path);
    assert.deepEqual(before, { builds: ['b1:running'], jobs: ['b1-0:queued', 'b1-1:queued'], attempts: [], agents: [] });

    const b2 = sampleBuild('b2');
    const writes = [
      store.createBuild(b2, sampleJobs(b2)),
      store.updateJob('b1-1', { state: 'cancelled' }),
      store.startAttempt(sampleAttempt('b1-0', 1, 7), { attempt: 1, state: 'running', agent: 'pi-1', mode: 'native' }),
      store.upsertAgent(sampleAgent('pi-1')),
      store.updateBuild('b2', { state: 'publishing' }),
    ];
    // Every write has run on the store's connection, but nothing is committed yet.
    assert.deepEqual(committed(path), before);

    await Promise.all(writes);
    assert.deepEqual(committed(path), {
      builds: ['b1:running', 'b2:publishing'],
      jobs: ['b1-0:running', 'b1-1:cancelled', 'b2-0:queued', 'b2-1:queued'],
      attempts: ['b1-0#1'],
      agents: ['pi-1'],
    });
  } finally {
    await store.close();
  }
});

test('a write promise settles only after the commit', async () => {
  const { store, path } = await storeWithBuild();
  try {
    let seen: ReturnType<typeof committed> | undefined;
    const write = store.updateJob('b1-0', { state: 'assigned' }).then(() => (seen = committed(path)));
    assert.deepEqual(committed(path).jobs, ['b1-0:queued', 'b1-1:queued']);
    await write;
    assert.deepEqual(seen?.jobs, ['b1-0:assigned', 'b1-1:queued']);
  } finally {
    await store.close();
  }
});

test('nextLeaseId resolves with its id once committed, and ids of one turn differ', async () => {
  const { store, path } = await storeWithBuild();
  try {
    const ids = await Promise.all([store.nextLeaseId(), store.nextLeaseId(), store.nextLeaseId()]);
    assert.deepEqual(ids, [ids[0], ids[0]! + 1, ids[0]! + 2]);
    const other = new Database(path, { readonly: true });
    try {
      assert.equal(other.prepare(`SELECT value FROM counters WHERE name = 'lease'`).pluck().get(), ids[2]);
    } finally {
      other.close();
    }
  } finally {
    await store.close();
  }
});

test('a failing write of a turn is undone and rejects alone; the others of the turn commit', async () => {
  const { store, path } = await storeWithBuild();
  try {
    const results = await Promise.allSettled([
      store.updateJob('b1-0', { state: 'assigned' }),
      store.updateJob('nope', { state: 'failed' }),
      // Changes the build, then fails on its second job: the build change must be undone too.
      store.updateBuild('b1', { state: 'failed' }, [
        { id: 'b1-1', patch: { state: 'cancelled' } },
        { id: 'nope', patch: { state: 'cancelled' } },
      ]),
      store.createBuild(sampleBuild('b1'), []),
      store.upsertAgent(sampleAgent('pi-1')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled'],
    );
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as unknown) : undefined));
    assert.ok(reasons[1] instanceof StoreRecordNotFoundError, String(reasons[1]));
    assert.ok(reasons[2] instanceof StoreRecordNotFoundError, String(reasons[2]));
    assert.ok(reasons[3] instanceof StoreConflictError, String(reasons[3]));

    const expected = { builds: ['b1:running'], jobs: ['b1-0:assigned', 'b1-1:queued'], attempts: [], agents: ['pi-1'] };
    assert.deepEqual(committed(path), expected);
    assert.deepEqual(
      (await store.getBuild('b1'))?.jobs.map((j) => j.state),
      ['assigned', 'queued'],
    );
    assert.equal((await store.getBuild('b1'))?.build.state, 'running');
  } finally {
    await store.close();
  }
});

test('a turn whose only write fails commits nothing and the next turn writes normally', async () => {
  const { store, path } = await storeWithBuild();
  try {
    await assert.rejects(store.updateJob('nope', { state: 'failed' }), StoreRecordNotFoundError);
    await new Promise((resolve) => setImmediate(resolve));
    await store.updateJob('b1-0', { state: 'running' });
    assert.deepEqual(committed(path).jobs, ['b1-0:running', 'b1-1:queued']);
  } finally {
    await store.close();
  }
});

test('reads on the store see its writes at once, before they are committed', async () => {
  const { store, path } = await storeWithBuild();
  try {
    const update = store.updateJob('b1-0', { state: 'running', agent: 'pi-1' });
    const start = store.startAttempt(sampleAttempt('b1-1', 1, 3), { attempt: 1, state: 'assigned' });
    const agent = store.upsertAgent(sampleAgent('pi-2'));
    const got = await store.getBuild('b1');
    assert.deepEqual(
      got?.jobs.map((j) => [j.state, j.agent]),
      [
        ['running', 'pi-1'],
        ['assigned', undefined],
      ],
    );
    assert.deepEqual(got?.attempts, [sampleAttempt('b1-1', 1, 3)]);
    assert.deepEqual(await store.getAgent('pi-2'), sampleAgent('pi-2'));
    assert.deepEqual(
      (await store.unfinishedBuilds()).map((b) => b.jobs[0]?.state),
      ['running'],
    );
    await Promise.all([update, start, agent]);
    assert.deepEqual(committed(path).jobs, ['b1-0:running', 'b1-1:assigned']);
  } finally {
    await store.close();
  }
});

test('close() right after writes that were not awaited commits them, and their promises resolve', async () => {
  const { store, path } = await storeWithBuild();
  const writes = [
    store.updateJob('b1-0', { state: 'running' }),
    store.startAttempt(sampleAttempt('b1-0', 1, 11), { attempt: 1 }),
    store.upsertAgent(sampleAgent('pi-1')),
    store.nextLeaseId(),
  ];
  const failed = store.updateJob('nope', { state: 'failed' });
  await store.close();
  const [, , , lease] = await Promise.all(writes);
  assert.equal(lease, 12);
  await assert.rejects(failed, StoreRecordNotFoundError);

  const reopened = SqliteStore.open(path);
  try {
    const got = await reopened.getBuild('b1');
    assert.equal(got?.jobs[0]?.state, 'running');
    assert.deepEqual(got?.attempts, [sampleAttempt('b1-0', 1, 11)]);
    assert.deepEqual(await reopened.getAgent('pi-1'), sampleAgent('pi-1'));
    assert.equal(await reopened.nextLeaseId(), 13);
  } finally {
    await reopened.close();
  }
});

test('writes after close are refused, even in the turn of the close', async () => {
  const { store, path } = await storeWithBuild();
  const before = store.updateJob('b1-0', { state: 'running' });
  const closing = store.close();
  await assert.rejects(store.updateJob('b1-1', { state: 'running' }), StoreClosedError);
  await assert.rejects(store.createBuild(sampleBuild('b2'), []), StoreClosedError);
  await assert.rejects(store.getBuild('b1'), StoreClosedError);
  await Promise.all([before, closing]);
  assert.deepEqual(committed(path).jobs, ['b1-0:running', 'b1-1:queued']);
});

test(
  'after a write that makes SQLite roll back the whole transaction (disk full), a write that rejects is not committed',
  async () => {
    const { store, path } = await storeWithBuild();
    try {
      // A real limit of SQLite standing in for a full disk: the file may not grow.
      const db = (store as unknown as { db: Database.Database }).db;
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const huge = sampleBuild('huge');
      huge.spec.tag = 'x'.repeat(200_000);
      const results = await Promise.allSettled([store.updateJob('b1-0', { state: 'running' }), store.createBuild(huge, []), store.updateJob('b1-1', { state: 'failed' })]);
      assert.equal(results[1]?.status, 'rejected');
      const jobs = committed(path).jobs;
      // Each write is committed exactly when its promise resolved.
      assert.equal(jobs.includes('b1-0:running'), results[0]?.status === 'fulfilled', `${results[0]?.status}, committed ${jobs.join(' ')}`);
      assert.equal(jobs.includes('b1-1:failed'), results[2]?.status === 'fulfilled', `${results[2]?.status}, committed ${jobs.join(' ')}`);
    } finally {
      await store.close();
    }
  },
);
