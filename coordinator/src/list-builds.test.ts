import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildState, ListBuildsRequest, type ListBuildsResponse, type SubmitBuildResponse } from '@archfarm/proto';
import { call, capturingLogger, startCoordinator, submitRequest, uploadDockerfile } from './testing/in-process';

test('ListBuilds filters by state and age on a real coordinator, and the limit counts matching builds', async () => {
  const { coordinator, builds } = await startCoordinator(mkdtempSync(join(tmpdir(), 'archfarm-list-')), capturingLogger([]));
  try {
    const context = await uploadDockerfile(builds, 'FROM scratch\nCOPY Dockerfile /\n');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      // No agent serves linux/amd64 here: each build stays running until cancelled.
      const submitted = await call<ReturnType<typeof submitRequest>, SubmitBuildResponse>(builds.submitBuild.bind(builds), submitRequest(context, { tag: `127.0.0.1:5000/list-test:${n}` }));
      ids.push(submitted.buildId);
    }
    await call(builds.cancelBuild.bind(builds), { buildId: ids[0]! });
    const list = async (fields: Partial<ListBuildsRequest>): Promise<string[]> =>
      (await call<ListBuildsRequest, ListBuildsResponse>(builds.listBuilds.bind(builds), ListBuildsRequest.fromPartial(fields))).builds.map((b) => b.buildId);

    assert.deepEqual(await list({}), [ids[2], ids[1], ids[0]]);
    assert.deepEqual(await list({ states: [BuildState.BUILD_STATE_CANCELLED] }), [ids[0]]);
    // The two newer builds are running: a limit of 1 still finds the cancelled one.
    assert.deepEqual(await list({ states: [BuildState.BUILD_STATE_CANCELLED], limit: 1 }), [ids[0]]);
    assert.deepEqual(await list({ states: [BuildState.BUILD_STATE_RUNNING] }), [ids[2], ids[1]]);
    assert.deepEqual(await list({ states: [BuildState.BUILD_STATE_FAILED, BuildState.BUILD_STATE_PUBLISHED] }), []);
    assert.deepEqual(await list({ createdWithinMs: 3_600_000 }), [ids[2], ids[1], ids[0]]);
    await assert.rejects(list({ limit: 501 }), /over 500/);
    await assert.rejects(list({ states: [BuildState.BUILD_STATE_UNSPECIFIED] }), /not a build state/);
  } finally {
    builds.close();
    await coordinator.stop(1000);
  }
});
