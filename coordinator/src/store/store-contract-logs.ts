import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { StoreRecordNotFoundError } from './errors';
import { sampleAttempt, sampleBuild, sampleJobs, type WithStore } from './store-fixtures';

/** The log index on attempts: part of storeContract (./store-contract). */
export function logIndexContract(withStore: WithStore): void {
  const logPath = 'logs/b1/b1-0.1.log';

  withStore('startAttempt records the log path; log bytes are absent until above 0', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt({ ...sampleAttempt('b1-0', 1, 1), logPath }, { attempt: 1 });
    await store.startAttempt({ ...sampleAttempt('b1-1', 1, 2), logPath: 'logs/b1/b1-1.1.log', logBytes: 0 }, { attempt: 1 });
    await store.startAttempt({ ...sampleAttempt('b1-0', 2, 3), logBytes: 12 }, { attempt: 2 });
    assert.deepEqual((await store.getBuild('b1'))?.attempts, [
      { ...sampleAttempt('b1-0', 1, 1), logPath },
      { ...sampleAttempt('b1-0', 2, 3), logBytes: 12 },
      { ...sampleAttempt('b1-1', 1, 2), logPath: 'logs/b1/b1-1.1.log' },
    ]);
  });

  withStore('setLogBytes updates one attempt only and refuses unknown attempts or bad counts', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt({ ...sampleAttempt('b1-0', 1, 1), logPath }, { attempt: 1 });
    await store.startAttempt(sampleAttempt('b1-1', 1, 2), { attempt: 1 });
    await store.setLogBytes('b1-0', 1, 4_096);
    await store.setLogBytes('b1-0', 1, 10_000);
    let attempts = (await store.getBuild('b1'))?.attempts;
    assert.deepEqual(attempts, [{ ...sampleAttempt('b1-0', 1, 1), logPath, logBytes: 10_000 }, sampleAttempt('b1-1', 1, 2)]);

    await assert.rejects(store.setLogBytes('b1-0', 2, 1), StoreRecordNotFoundError);
    await assert.rejects(store.setLogBytes('nope', 1, 1), StoreRecordNotFoundError);
    for (const bad of [-1, 1.5, Number.NaN]) await assert.rejects(store.setLogBytes('b1-0', 1, bad), InvalidInputError);
    assert.deepEqual((await store.getBuild('b1'))?.attempts, attempts);

    await store.setLogBytes('b1-0', 1, 0);
    attempts = (await store.getBuild('b1'))?.attempts;
    assert.deepEqual(attempts?.[0], { ...sampleAttempt('b1-0', 1, 1), logPath });
  });

  withStore('endAttempt sets or keeps log bytes and always keeps the log path', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt({ ...sampleAttempt('b1-0', 1, 1), logPath }, { attempt: 1 });
    await store.startAttempt({ ...sampleAttempt('b1-1', 1, 2), logPath: 'logs/b1/b1-1.1.log' }, { attempt: 1 });
    await store.setLogBytes('b1-1', 1, 300);
    await store.endAttempt('b1-0', 1, { outcome: 'succeeded', endedAt: 9, logBytes: 512 });
    await store.endAttempt('b1-1', 1, { outcome: 'failed', endedAt: 9 });
    await assert.rejects(store.endAttempt('b1-1', 1, { logBytes: -5 }), InvalidInputError);
    const [first, second] = (await store.getBuild('b1'))?.attempts ?? [];
    assert.deepEqual(first, { ...sampleAttempt('b1-0', 1, 1), logPath, outcome: 'succeeded', endedAt: 9, logBytes: 512 });
    assert.deepEqual(second, { ...sampleAttempt('b1-1', 1, 2), logPath: 'logs/b1/b1-1.1.log', outcome: 'failed', endedAt: 9, logBytes: 300 });
    await store.endAttempt('b1-1', 1, { logBytes: undefined });
    assert.equal('logBytes' in ((await store.getBuild('b1'))?.attempts[1] ?? {}), false);
  });
}
