import assert from 'node:assert/strict';
import { StoreRecordNotFoundError } from './errors';
import { sampleAttempt, sampleBuild, sampleJobs, type WithStore } from './store-fixtures';

/** Write order and the lease counter: part of storeContract (./store-contract). */
export function orderContract(withStore: WithStore): void {
  withStore('writes land in the order they are called, without awaiting the ones before', async (store) => {
    const build = sampleBuild('b1');
    const lost = { code: 'AGENT_LOST', message: 'gone', kind: 'infrastructure' };
    // Each write depends on the one before it: endAttempt needs the attempt startAttempt adds.
    const writes = [
      store.createBuild(build, sampleJobs(build)),
      store.startAttempt(sampleAttempt('b1-0', 1, 1), { attempt: 1, state: 'running', agent: 'pi-1', mode: 'native' }),
      store.setLogBytes('b1-0', 1, 100),
      store.endAttempt('b1-0', 1, { outcome: 'lost', endedAt: 50, error: lost }, { error: lost }),
      store.updateJob('b1-0', { state: 'queued', failedOn: ['pi-1'], notBefore: 60, agent: undefined, mode: undefined }),
      store.startAttempt(sampleAttempt('b1-0', 2, 2), { attempt: 2, state: 'assigned', agent: 'pi-2', mode: 'emulated', error: undefined }),
      store.updateJob('b1-1', { state: 'running' }),
      store.updateJob('b1-1', { state: 'failed' }),
      store.updateBuild('b1', { state: 'failed', finishedAt: 70 }, [{ id: 'b1-1', patch: { state: 'cancelled' } }]),
    ];
    await Promise.all(writes);

    const got = await store.getBuild('b1');
    assert.deepEqual(got?.build, { ...build, state: 'failed', finishedAt: 70 });
    const [first, second] = sampleJobs(build);
    assert.deepEqual(got?.jobs, [
      { ...first, state: 'assigned', attempt: 2, agent: 'pi-2', mode: 'emulated', failedOn: ['pi-1'], notBefore: 60 },
      { ...second, state: 'cancelled' },
    ]);
    assert.deepEqual(got?.attempts, [
      { ...sampleAttempt('b1-0', 1, 1), outcome: 'lost', endedAt: 50, error: lost, logBytes: 100 },
      sampleAttempt('b1-0', 2, 2),
    ]);
  });

  withStore('a write that fails among writes that were not awaited fails alone, in its place in the order', async (store) => {
    const build = sampleBuild('b1');
    // endAttempt runs before the attempt exists: it fails; the writes around it take effect.
    const results = await Promise.allSettled([
      store.createBuild(build, sampleJobs(build)),
      store.endAttempt('b1-0', 1, { outcome: 'succeeded' }),
      store.startAttempt(sampleAttempt('b1-0', 1, 1), { attempt: 1, state: 'running' }),
      store.updateJob('b1-1', { state: 'assigned' }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.ok(results[1]?.status === 'rejected' && results[1].reason instanceof StoreRecordNotFoundError);
    const got = await store.getBuild('b1');
    assert.deepEqual(got?.attempts, [sampleAttempt('b1-0', 1, 1)]);
    assert.deepEqual(
      got?.jobs.map((j) => j.state),
      ['running', 'assigned'],
    );
  });

  withStore('a read right after a write that was not awaited sees it', async (store) => {
    const build = sampleBuild('b1');
    const create = store.createBuild(build, sampleJobs(build));
    const update = store.updateJob('b1-0', { state: 'running' });
    assert.deepEqual(
      (await store.getBuild('b1'))?.jobs.map((j) => j.state),
      ['running', 'queued'],
    );
    await Promise.all([create, update]);
  });

  withStore('startAttempt raises the lease counter to its lease id; a lower one does not lower it', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt(sampleAttempt('b1-0', 1, 41), { attempt: 1 });
    const next = await store.nextLeaseId();
    assert.ok(next > 41, String(next));

    await store.startAttempt(sampleAttempt('b1-1', 1, 5), { attempt: 1 });
    const after = await store.nextLeaseId();
    assert.ok(after > next, `${after} after ${next}`);

    // A caller's own counter, seeded with nextLeaseId, running ahead of the store.
    await store.startAttempt(sampleAttempt('b1-0', 2, after + 10), { attempt: 2 });
    const ids = [await store.nextLeaseId(), await store.nextLeaseId()];
    assert.ok(ids[0]! > after + 10 && ids[1]! > ids[0]!, `${ids.join(', ')} after lease ${after + 10}`);
    const leases = new Set((await store.getBuild('b1'))?.attempts.map((a) => a.leaseId));
    assert.ok(!ids.some((id) => leases.has(id)), 'nextLeaseId never returns a stored lease id');
  });

  withStore('a lease id raised without awaiting is honoured by the next nextLeaseId', async (store) => {
    const build = sampleBuild('b1');
    const create = store.createBuild(build, sampleJobs(build));
    const start = store.startAttempt(sampleAttempt('b1-0', 1, 100), { attempt: 1 });
    const lease = store.nextLeaseId();
    await Promise.all([create, start]);
    assert.ok((await lease) > 100, String(await lease));
  });
}
