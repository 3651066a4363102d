import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError } from '@archfarm/common';
import { StoreClosedError, StoreConflictError, StoreRecordNotFoundError } from './errors';
import type { Store } from './store';
import { accessContract } from './store-contract-access';
import { agentContract } from './store-contract-agents';
import { listBuildsContract } from './store-contract-list';
import { logIndexContract } from './store-contract-logs';
import { orderContract } from './store-contract-order';
import { publishContract } from './store-contract-publish';
import { closedScheduleStoreRefuses, scheduleContract } from './store-contract-schedules';
import { schedulingContract } from './store-contract-scheduling';
import { tokenContract } from './store-contract-tokens';
import { sampleAttempt, sampleBuild, sampleJobs, type WithStore } from './store-fixtures';

/**
 * What every Store must do, run against each implementation (sqlite-store.test.ts,
 * memory-store.test.ts) so that tests written against MemoryStore hold for SQLite.
 */
export function storeContract(name: string, open: () => Promise<Store>): void {
  const withStore: WithStore = (title, fn) => {
    test(`${name}: ${title}`, async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });
  };

  withStore('createBuild then getBuild returns the same records', async (store) => {
    const build = sampleBuild('b1');
    const jobs = sampleJobs(build);
    await store.createBuild(build, jobs);
    assert.deepEqual(await store.getBuild('b1'), { build, jobs, attempts: [] });
    assert.equal(await store.getBuild('nope'), undefined);
  });

  withStore('updateBuild sets, clears and keeps fields, and patches jobs in the same call', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild({ ...build, digest: 'sha256:old', failedPlatform: 'linux/amd64' }, sampleJobs(build));
    const error = { code: 'BUILD_CANCELLED', message: 'cancelled', kind: 'input' };
    await store.updateBuild('b1', { state: 'cancelled', finishedAt: 9, error, digest: undefined }, [
      { id: 'b1-0', patch: { state: 'cancelled' } },
      { id: 'b1-1', patch: { state: 'cancelled' } },
    ]);
    const got = await store.getBuild('b1');
    assert.deepEqual(got?.build, { ...build, state: 'cancelled', finishedAt: 9, error, failedPlatform: 'linux/amd64' });
    assert.deepEqual(
      got?.jobs.map((j) => j.state),
      ['cancelled', 'cancelled'],
    );
  });

  withStore('updateBuild is all or nothing', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.createBuild(sampleBuild('b2'), sampleJobs(sampleBuild('b2')));
    await assert.rejects(store.updateBuild('b1', { state: 'failed' }, [{ id: 'b1-0', patch: { state: 'cancelled' } }, { id: 'b2-0', patch: {} }]), StoreRecordNotFoundError);
    await assert.rejects(store.updateBuild('b1', { state: undefined }), InvalidInputError);
    await assert.rejects(store.updateBuild('nope', { state: 'failed' }), StoreRecordNotFoundError);
    assert.deepEqual(await store.getBuild('b1'), { build, jobs: sampleJobs(build), attempts: [] });
  });

  withStore('updateJob round-trips every patchable field', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    const patch = {
      state: 'queued' as const,
      attempt: 2,
      agent: 'pi-1',
      mode: 'emulated' as const,
      digest: 'sha256:d',
      error: { code: 'AGENT_LOST', message: 'gone', kind: 'infrastructure' },
      queuedAt: 5,
      failedOn: ['pi-1', 'pi-2'],
      notBefore: 7,
    };
    await store.updateJob('b1-1', patch);
    const [first, second] = (await store.getBuild('b1'))?.jobs ?? [];
    assert.deepEqual(second, { ...sampleJobs(build)[1], ...patch });
    assert.deepEqual(first, sampleJobs(build)[0]);
    await store.updateJob('b1-1', { error: undefined, notBefore: undefined, agent: undefined });
    const cleared = (await store.getBuild('b1'))?.jobs[1];
    assert.equal(cleared && ('error' in cleared || 'notBefore' in cleared || 'agent' in cleared), false);
    await assert.rejects(store.updateJob('nope', { state: 'failed' }), StoreRecordNotFoundError);
  });

  withStore('startAttempt and endAttempt record attempts and patch the job with them', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    const lease = await store.nextLeaseId();
    const attempt = sampleAttempt('b1-0', 1, lease);
    await store.startAttempt(attempt, { attempt: 1, state: 'assigned', agent: 'pi-1', mode: 'native' });
    let got = await store.getBuild('b1');
    assert.deepEqual(got?.attempts, [attempt]);
    assert.deepEqual(got?.jobs[0], { ...sampleJobs(build)[0], attempt: 1, state: 'assigned', agent: 'pi-1', mode: 'native' });

    await store.endAttempt('b1-0', 1, { outcome: 'succeeded', endedAt: 3_000, digest: 'sha256:p' }, { state: 'succeeded', digest: 'sha256:p' });
    got = await store.getBuild('b1');
    assert.deepEqual(got?.attempts, [{ ...attempt, outcome: 'succeeded', endedAt: 3_000, digest: 'sha256:p' }]);
    assert.equal(got?.jobs[0]?.state, 'succeeded');
    await assert.rejects(store.endAttempt('b1-0', 9, { outcome: 'lost' }), StoreRecordNotFoundError);
  });

  withStore('a duplicate attempt or lease is a conflict and changes nothing', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt(sampleAttempt('b1-0', 1, 1), { attempt: 1, state: 'assigned' });
    const before = await store.getBuild('b1');
    await assert.rejects(store.startAttempt(sampleAttempt('b1-0', 1, 2), { attempt: 1, state: 'running', agent: 'x' }), StoreConflictError);
    await assert.rejects(store.startAttempt(sampleAttempt('b1-1', 1, 1), { attempt: 1, state: 'assigned' }), StoreConflictError);
    await assert.rejects(store.startAttempt(sampleAttempt('nope', 1, 3), { attempt: 1 }), StoreRecordNotFoundError);
    assert.deepEqual(await store.getBuild('b1'), before);
  });

  withStore('attempts come ordered by job index, then attempt', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt(sampleAttempt('b1-1', 1, 1), { attempt: 1 });
    await store.startAttempt(sampleAttempt('b1-0', 2, 3), { attempt: 2 });
    await store.startAttempt(sampleAttempt('b1-0', 1, 2), { attempt: 1 });
    const got = (await store.getBuild('b1'))?.attempts.map((a) => `${a.jobId}#${a.attempt}`);
    assert.deepEqual(got, ['b1-0#1', 'b1-0#2', 'b1-1#1']);
  });

  withStore('createBuild with a duplicate job id writes nothing', async (store) => {
    const build = sampleBuild('b1');
    const [job] = sampleJobs(build);
    assert.ok(job);
    await assert.rejects(store.createBuild(build, [job, { ...job, index: 1 }]), StoreConflictError);
    assert.equal(await store.getBuild('b1'), undefined);
    assert.deepEqual(await store.listBuilds(10), []);
    await store.createBuild(build, sampleJobs(build));
    await assert.rejects(store.createBuild(build, []), StoreConflictError);
    await assert.rejects(store.createBuild(sampleBuild('b2'), sampleJobs(build)), InvalidInputError);
  });

  withStore('listBuilds is newest first and honours the limit', async (store) => {
    for (const [id, at] of [['a', 10], ['b', 30], ['c', 20], ['d', 30]] as const) await store.createBuild(sampleBuild(id, at), []);
    assert.deepEqual(
      (await store.listBuilds(10)).map((b) => b.id),
      ['d', 'b', 'c', 'a'],
    );
    assert.deepEqual(
      (await store.listBuilds(2)).map((b) => b.id),
      ['d', 'b'],
    );
    await assert.rejects(store.listBuilds(-1), InvalidInputError);
  });

  withStore('unfinishedBuilds has running and publishing builds, oldest first, with jobs and attempts', async (store) => {
    const states = [['done', 'published'], ['pub', 'publishing'], ['run', 'running'], ['failed', 'failed'], ['gone', 'cancelled']] as const;
    let at = 100;
    for (const [id, state] of states) await store.createBuild(sampleBuild(id, at--, state), sampleJobs(sampleBuild(id)));
    await store.startAttempt(sampleAttempt('run-0', 1, 1), { attempt: 1, state: 'running' });
    await store.updateBuild('pub', { state: 'published' });
    await store.updateBuild('done', { state: 'running' });
    const got = await store.unfinishedBuilds();
    assert.deepEqual(
      got.map((b) => b.build.id),
      ['run', 'done'],
    );
    assert.deepEqual(got[0]?.attempts, [sampleAttempt('run-0', 1, 1)]);
    assert.equal(got[1]?.jobs.length, 2);
  });

  withStore('lease ids strictly increase', async (store) => {
    const ids = [await store.nextLeaseId(), await store.nextLeaseId(), await store.nextLeaseId()];
    assert.ok(ids[0]! > 0 && ids[0]! < ids[1]! && ids[1]! < ids[2]!, String(ids));
  });

  withStore('returned records are copies', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    build.spec.platforms.push('linux/s390x');
    build.spec.requireLabels.disk = 'ssd';
    const got = await store.getBuild('b1');
    if (got) got.build.spec.requireLabels.site = 'changed';
    got?.jobs[0]?.failedOn.push('x');
    assert.deepEqual((await store.getBuild('b1'))?.jobs[0]?.failedOn, []);
    assert.equal((await store.getBuild('b1'))?.build.spec.platforms.length, 2);
    assert.deepEqual((await store.getBuild('b1'))?.build.spec.requireLabels, sampleBuild('b1').spec.requireLabels);
  });

  logIndexContract(withStore);
  agentContract(withStore);
  schedulingContract(withStore);
  publishContract(withStore);
  tokenContract(withStore);
  accessContract(withStore);
  orderContract(withStore);
  scheduleContract(withStore);
  listBuildsContract(withStore);

  test(`${name}: calls after close are refused`, async () => {
    const store = await open();
    await store.close();
    await store.close();
    await assert.rejects(store.listBuilds(1), StoreClosedError);
    await assert.rejects(store.nextLeaseId(), StoreClosedError);
    await assert.rejects(store.listAgents(), StoreClosedError);
    await assert.rejects(store.getAgent('pi-1'), StoreClosedError);
    await assert.rejects(store.setAgentDrained('pi-1', true), StoreClosedError);
    await assert.rejects(store.setLogBytes('j', 1, 1), StoreClosedError);
    await closedScheduleStoreRefuses(store);
  });
}
