import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import type { BuildRecord, BuildSpecRecord } from './store';
import { defaultedSpec, sampleAttempt, sampleBuild, sampleJobs, specBeforeV6, type WithStore } from './store-fixtures';

/** Schema 6 (tags and the buildx flags in the spec, the index descriptor, attempt bases): part of storeContract (./store-contract). */
export function publishContract(withStore: WithStore): void {
  withStore('a spec keeps tags, labels, annotations, pull, noCache and secret ids; one without them reads back with tags [tag]', async (store) => {
    const build = sampleBuild('new', 20);
    await store.createBuild(build, sampleJobs(build));
    const old: BuildRecord = { ...sampleBuild('old', 10), spec: specBeforeV6(sampleBuild('old').spec) as BuildSpecRecord };
    await store.createBuild(old, []);
    assert.deepEqual((await store.getBuild('new'))?.build, build);
    assert.deepEqual((await store.getBuild('old'))?.build, { ...sampleBuild('old', 10), spec: defaultedSpec(sampleBuild('old').spec, 6) });
    assert.deepEqual((await store.getBuild('old'))?.build.spec.tags, ['registry.local:5000/app:1.0']);
  });

  withStore('createBuild refuses version-6 spec fields a read could not decode, and writes nothing', async (store) => {
    const spec = sampleBuild('b').spec;
    const bad: Array<[string, Partial<Record<keyof BuildSpecRecord, unknown>>]> = [
      ['tags', { tags: 'registry.local:5000/app:1.0' }],
      ['tags', { tags: ['registry.local:5000/app:other'] }],
      ['labels', { labels: { a: 1 } }],
      ['annotations', { annotations: [{ level: 'everywhere', key: 'k', value: 'v' }] }],
      ['pull', { pull: 'yes' }],
      ['secretIds', { secretIds: [1] }],
    ];
    for (const [field, patch] of bad) {
      const b = { ...sampleBuild(`b-${field}`), spec: { ...spec, ...patch } as BuildSpecRecord };
      await assert.rejects(store.createBuild(b, []), (err: unknown) => err instanceof InvalidInputError && err.field === `build.spec.${field}`, field);
      assert.equal(await store.getBuild(b.id), undefined);
    }
  });

  withStore('the published index media type and size are set, kept and cleared like the digest', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, []);
    const index = { digest: 'sha256:i', indexMediaType: 'application/vnd.oci.image.index.v1+json', indexSize: 512 };
    await store.updateBuild('b1', { state: 'published', ...index });
    assert.deepEqual((await store.getBuild('b1'))?.build, { ...build, state: 'published', ...index });
    await store.updateBuild('b1', { indexSize: undefined, indexMediaType: undefined });
    assert.deepEqual((await store.getBuild('b1'))?.build, { ...build, state: 'published', digest: 'sha256:i' });
  });

  withStore('endAttempt records the base images of a succeeded attempt', async (store) => {
    const build = sampleBuild('b1');
    await store.createBuild(build, sampleJobs(build));
    await store.startAttempt(sampleAttempt('b1-0', 1, 1), { state: 'assigned', attempt: 1 });
    await store.startAttempt(sampleAttempt('b1-1', 1, 2), { state: 'assigned', attempt: 1 });
    const bases = [{ ref: 'registry.local:5000/base:1', digest: `sha256:${'b'.repeat(64)}` }];
    await store.endAttempt('b1-0', 1, { outcome: 'succeeded', endedAt: 9, digest: 'sha256:d', bases });
    await store.endAttempt('b1-1', 1, { outcome: 'failed', endedAt: 9 });
    const attempts = (await store.getBuild('b1'))?.attempts;
    assert.deepEqual(attempts?.[0], { ...sampleAttempt('b1-0', 1, 1), outcome: 'succeeded', endedAt: 9, digest: 'sha256:d', bases });
    assert.equal(attempts?.[1]?.bases, undefined, 'none named: absent');
  });
}
