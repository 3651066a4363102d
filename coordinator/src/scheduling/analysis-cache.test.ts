import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnalysisCache } from './analysis-cache';

const result = { crossCompile: true, buildPlatformRuns: 1, targetRuns: 0 };

test('one analysis per context digest and path, shared while in flight; a failure is not kept', async () => {
  const cache = new AnalysisCache(2);
  let runs = 0;
  const compute = async () => (runs++, result);
  await Promise.all([cache.get('sha256:a', 'Dockerfile', compute), cache.get('sha256:a', 'Dockerfile', compute)]);
  assert.equal(runs, 1);
  await cache.get('sha256:a', 'other/Dockerfile', compute);
  assert.equal(runs, 2, 'another path is another entry');
  await assert.rejects(cache.get('sha256:b', 'Dockerfile', () => Promise.reject(new Error('unreadable'))));
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.peek('sha256:b', 'Dockerfile'), undefined);
  assert.deepEqual(await cache.get('sha256:b', 'Dockerfile', compute), result);
  assert.equal(cache.peek('sha256:a', 'Dockerfile'), undefined, 'the least recently used went first');
});
