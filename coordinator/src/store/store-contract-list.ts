import assert from 'node:assert/strict';
import { scheduledBuild, sampleBuild, type WithStore } from './store-fixtures';

/** listBuilds' state and age filters: part of storeContract (./store-contract). */
export function listBuildsContract(withStore: WithStore): void {
  withStore('listBuilds with states and createdSince lists only matching builds, and the limit counts those', async (store) => {
    const builds = [
      sampleBuild('old-failed', 10, 'failed'),
      sampleBuild('published', 20, 'published'),
      sampleBuild('failed', 30, 'failed'),
      sampleBuild('running', 40, 'running'),
      sampleBuild('cancelled', 50, 'cancelled'),
      { ...scheduledBuild('nightly-failed', 'nightly', 60), state: 'failed' as const },
    ];
    for (const b of builds) await store.createBuild(b, []);
    const ids = async (limit: number, filter: Parameters<typeof store.listBuilds>[1]): Promise<string[]> => (await store.listBuilds(limit, filter)).map((b) => b.id);
    assert.deepEqual(await ids(10, { states: ['failed'] }), ['nightly-failed', 'failed', 'old-failed']);
    // Newer builds of other states do not use up the limit.
    assert.deepEqual(await ids(2, { states: ['failed', 'cancelled'] }), ['nightly-failed', 'cancelled']);
    assert.deepEqual(await ids(10, { createdSince: 30 }), ['nightly-failed', 'cancelled', 'running', 'failed']);
    assert.deepEqual(await ids(10, { states: ['failed'], createdSince: 20 }), ['nightly-failed', 'failed']);
    assert.deepEqual(await ids(10, { states: ['failed'], schedule: 'nightly' }), ['nightly-failed']);
    assert.deepEqual(await ids(10, { states: ['published'], schedule: 'nightly' }), []);
    assert.deepEqual(await ids(10, { states: [] }), ['nightly-failed', 'cancelled', 'running', 'failed', 'published', 'old-failed']);
    assert.deepEqual(await ids(10, { createdSince: 61 }), []);
  });
}
