import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '../testing/postgres';
import { StoreDataError, StoreInUseError, StoreUnreachableError } from './errors';
import { PostgresStore } from './postgres-store';
import { storeContract } from './store-contract';
import { sampleAgent, sampleAttempt, sampleBuild, sampleJobs, sampleSchedule, sampleTick, sampleToken, scheduledBuild } from './store-fixtures';

/*
 * The Store contract on PostgreSQL (one database for this file, a fresh schema for each store),
 * and what only a shared database shows: stores (coordinators) that reopen it or use it at once.
 */

let db: TestDatabase;
before(async () => (db = await createTestDatabase()));
after(() => db.drop());
let schemas = 0;
const freshSchema = () => `store_${++schemas}`;

storeContract('PostgresStore', () => PostgresStore.open(db.url, { schema: freshSchema() }));

/** Runs SQL beside the store, as an operator (or a newer archfarm) would. */
async function sql(schema: string, text: string): Promise<void> {
  const pool = new Pool({ connectionString: db.url, max: 1, options: `-c search_path=${schema}` });
  try {
    await pool.query(text);
  } finally {
    await pool.end();
  }
}

test('a reopened store (a coordinator restart) has everything the first one wrote', async () => {
  const schema = freshSchema();
  const first = await PostgresStore.open(db.url, { schema });
  const running = sampleBuild('run', 10);
  await first.createBuild(running, sampleJobs(running));
  await first.startAttempt({ ...sampleAttempt('run-0', 1, await first.nextLeaseId()), logPath: 'logs/run/run-0.1.log' }, { attempt: 1, state: 'running', agent: 'pi-1', mode: 'native' });
  await first.setLogBytes('run-0', 1, 2_048);
  await first.upsertAgent(sampleAgent('pi-1', 100, { drained: true }));
  const token = sampleToken('t1');
  await first.createToken(token);
  await first.putRegistryCredential('registry.local:5000', 'ci', Buffer.from([0, 1, 2]), 100);
  await first.createSchedule(sampleSchedule('nightly'));
  await first.createBuild(scheduledBuild('b1', 'nightly', 20), []);
  await first.recordTick(sampleTick('nightly', 6_000, { buildId: 'b1' }), { nextDueAt: 7_000 });
  const before = {
    unfinished: await first.unfinishedBuilds(),
    agents: await first.listAgents(),
    token: await first.findToken(token.hash),
    credential: await first.getRegistryCredential('registry.local:5000'),
    schedules: await first.listSchedules(),
    ticks: await first.listTicks('nightly', 5),
    scheduled: await first.listBuilds(5, { schedule: 'nightly' }),
  };
  await first.close();

  const second = await PostgresStore.open(db.url, { schema });
  try {
    assert.deepEqual(
      {
        unfinished: await second.unfinishedBuilds(),
        agents: await second.listAgents(),
        token: await second.findToken(token.hash),
        credential: await second.getRegistryCredential('registry.local:5000'),
        schedules: await second.listSchedules(),
        ticks: await second.listTicks('nightly', 5),
        scheduled: await second.listBuilds(5, { schedule: 'nightly' }),
      },
      before,
    );
    assert.equal(before.unfinished[0]?.attempts[0]?.logBytes, 2_048);
    assert.deepEqual(before.credential, { username: 'ci', ciphertext: Buffer.from([0, 1, 2]) });
  } finally {
    await second.close();
  }
});

test('stores sharing one database never hand out the same lease id', async () => {
  const schema = freshSchema();
  const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(db.url, { schema })));
  try {
    const ids = (await Promise.all(stores.map(async (s) => Promise.all(Array.from({ length: 10 }, () => s.nextLeaseId()))))).flat();
    assert.equal(new Set(ids).size, 30);
    assert.equal(Math.max(...ids), 30);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('stores racing for a join token get exactly its uses between them', async () => {
  const schema = freshSchema();
  const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(db.url, { schema })));
  try {
    const token = sampleToken('race', { usesLeft: 3 });
    await stores[0]!.createToken(token);
    const outcomes = await Promise.all(stores.map((s) => s.useJoinToken(token.hash, 2_000).then(() => 'ok', (err: { code?: string }) => err.code ?? String(err))));
    assert.deepEqual(outcomes.sort(), ['TOKEN_USED_UP', 'TOKEN_USED_UP', 'TOKEN_USED_UP', 'ok', 'ok', 'ok']);
    assert.equal((await stores[0]!.findToken(token.hash))?.usesLeft, 0);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('a row the code does not understand fails loudly', async () => {
  const schema = freshSchema();
  const store = await PostgresStore.open(db.url, { schema });
  try {
    await store.createBuild(sampleBuild('b1'), []);
    await store.createBuild(sampleBuild('b2'), []);
    await store.upsertAgent(sampleAgent('pi-1'));
    await store.createToken(sampleToken('t1'));
    await store.createSchedule(sampleSchedule('a'));
    await store.recordTick(sampleTick('a', 1_000), {});
    await sql(
      schema,
      `UPDATE builds SET state = 'smoke-testing' WHERE id = 'b1';
       UPDATE builds SET spec = jsonb_set(spec, '{emulation}', '"sometimes"') WHERE id = 'b2';
       UPDATE agents SET platforms = '[{"platform":"linux/arm64","mode":"rosetta"}]';
       UPDATE tokens SET kind = 'superuser';
       UPDATE schedule_ticks SET cause = 'cron';`,
    );
    await assert.rejects(store.getBuild('b1'), StoreDataError);
    await assert.rejects(store.getBuild('b2'), StoreDataError);
    await assert.rejects(store.listAgents(), StoreDataError);
    await assert.rejects(store.listTokens(), (err: unknown) => err instanceof StoreDataError && err.message.includes('token t1'));
    await assert.rejects(store.listTicks('a', 1), (err: unknown) => err instanceof StoreDataError && /unknown value "cron"/.test(err.message));
  } finally {
    await store.close();
  }
});

test('an exclusive store (a coordinator) refuses a second one on its database until it closes', async () => {
  const schema = freshSchema();
  const first = await PostgresStore.open(db.url, { schema, exclusive: true });
  await assert.rejects(PostgresStore.open(db.url, { schema, exclusive: true }), (err: unknown) => err instanceof StoreInUseError && err.code === 'STORE_IN_USE');
  const other = await PostgresStore.open(db.url, { schema: freshSchema(), exclusive: true });
  await Promise.all([first.close(), other.close()]);
  const next = await PostgresStore.open(db.url, { schema, exclusive: true });
  await next.close();
});

test('a server that does not answer is named at open, without the password', async () => {
  await assert.rejects(
    PostgresStore.open('postgres://archfarm:hunter2@127.0.0.1:1/farm'),
    (err: unknown) => err instanceof StoreUnreachableError && err.message.includes('127.0.0.1:1/farm') && !err.message.includes('hunter2'),
  );
});
