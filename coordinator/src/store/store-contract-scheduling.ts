import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import type { BuildRecord, BuildSpecRecord } from './store';
import { defaultedSpec, sampleAttempt, sampleBuild, sampleJobs, specBeforeV3, type WithStore } from './store-fixtures';

/** Scheduling data (spec emulation and requireLabels, attempt reasons): part of storeContract (./store-contract). */
export function schedulingContract(withStore: WithStore): void {
  withStore('a spec keeps emulation and requireLabels; one without them reads back with the defaults', async (store) => {
    const build = sampleBuild('new', 20);
    await store.createBuild(build, sampleJobs(build));
    // A caller that skipped the types: absent fields mean the defaults, in every read.
    const old: BuildRecord = { ...sampleBuild('old', 10), spec: specBeforeV3(sampleBuild('old').spec) as BuildSpecRecord };
    await store.createBuild(old, sampleJobs(old));
    const defaulted = { ...sampleBuild('old', 10), spec: defaultedSpec(sampleBuild('old').spec) };

    assert.deepEqual((await store.getBuild('new'))?.build, build);
    assert.deepEqual((await store.getBuild('old'))?.build, defaulted);
    assert.deepEqual(await store.listBuilds(5), [build, defaulted]);
    assert.deepEqual(
      (await store.unfinishedBuilds()).map((b) => b.build),
      [defaulted, build],
    );
    for (const emulation of ['deny', 'prefer-native'] as const) {
      const b = { ...sampleBuild(emulation), spec: { ...sampleBuild(emulation).spec, emulation, requireLabels: {} } };
      await store.createBuild(b, []);
      assert.deepEqual((await store.getBuild(emulation))?.build, b);
    }
  });

  withStore('createBuild refuses an emulation or requireLabels that a read could not decode, and writes nothing', async (store) => {
    const bad: Array<Partial<Record<keyof BuildSpecRecord, unknown>>> = [
      { emulation: 'sometimes' },
      { emulation: '' },
      { emulation: null },
      { requireLabels: { site: 1 } },
      { requireLabels: ['site'] },
      { requireLabels: null },
    ];
    for (const fields of bad) {
      const build = { ...sampleBuild('b1'), spec: { ...sampleBuild('b1').spec, ...fields } as BuildSpecRecord };
      await assert.rejects(store.createBuild(build, sampleJobs(build)), InvalidInputError, JSON.stringify(fields));
    }
    assert.equal(await store.getBuild('b1'), undefined);
    assert.deepEqual(await store.listBuilds(5), []);
  });

  withStore('startAttempt records the placement reason; later changes keep it', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    const reason = 'native on pi-1: 1 of 2 slots free, labels site=lab';
    await store.startAttempt({ ...sampleAttempt('b1-0', 1, 1), reason }, { attempt: 1, state: 'assigned' });
    await store.startAttempt(sampleAttempt('b1-1', 1, 2), { attempt: 1, state: 'assigned' });
    assert.deepEqual((await store.getBuild('b1'))?.attempts, [{ ...sampleAttempt('b1-0', 1, 1), reason }, sampleAttempt('b1-1', 1, 2)]);

    await store.setLogBytes('b1-0', 1, 10);
    await store.endAttempt('b1-0', 1, { outcome: 'lost', endedAt: 9 }, { state: 'queued' });
    await store.startAttempt({ ...sampleAttempt('b1-0', 2, 3), reason: 'emulated on amd-1: no native agent' }, { attempt: 2 });
    assert.deepEqual((await store.getBuild('b1'))?.attempts, [
      { ...sampleAttempt('b1-0', 1, 1), reason, logBytes: 10, outcome: 'lost', endedAt: 9 },
      { ...sampleAttempt('b1-0', 2, 3), reason: 'emulated on amd-1: no native agent' },
      sampleAttempt('b1-1', 1, 2),
    ]);
    assert.equal((await store.unfinishedBuilds())[0]?.attempts[0]?.reason, reason);
  });
}
