import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { specFromRecord, specRecord } from '../builds/build-records';
import { validateBuild } from '../services/validate-build';
import { SqliteStore } from '../store';
import { sampleBuild } from '../store/store-fixtures';
import { submitRequest } from '../testing/in-process';

const request = (noProvenance: boolean) =>
  submitRequest(`sha256:${'a'.repeat(64)}`, { tag: '127.0.0.1:5000/app:1', platforms: ['linux/amd64'], noProvenance });

test('--provenance=false is kept in the stored spec, so a restarted coordinator (or a schedule) writes none', async () => {
  const off = validateBuild(request(true));
  assert.equal(off.noProvenance, true);
  assert.equal(validateBuild(request(false)).noProvenance, undefined, 'on by default, nothing stored');
  const dir = mkdtempSync(join(tmpdir(), 'no-provenance-'));
  const store = SqliteStore.open(join(dir, 'archfarm.db'));
  try {
    const build = sampleBuild('b1');
    await store.createBuild({ ...build, spec: specRecord(off) }, []);
    const read = await store.getBuild('b1');
    assert.equal(specFromRecord(read!.build.spec).noProvenance, true);
    await store.createBuild({ ...sampleBuild('b2'), spec: specRecord(validateBuild(request(false))) }, []);
    assert.equal(specFromRecord((await store.getBuild('b2'))!.build.spec).noProvenance, undefined);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
