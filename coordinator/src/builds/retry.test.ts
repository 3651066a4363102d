import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelay, withRetries } from './retry';

test('backoff doubles per attempt, jittered between half and all of it, capped', () => {
  assert.equal(retryDelay(1, 1000, () => 0), 500);
  assert.equal(retryDelay(1, 1000, () => 1), 1000);
  assert.equal(retryDelay(3, 1000, () => 0), 2000);
  assert.equal(retryDelay(3, 1000, () => 1), 4000);
  assert.equal(retryDelay(20, 1000, () => 1), 60_000);
});

test('withRetries retries retryable errors up to the budget and stops at others', async () => {
  let calls = 0;
  const flaky = () => (++calls < 3 ? Promise.reject(new Error('503')) : Promise.resolve('ok'));
  assert.equal(await withRetries(flaky, { attempts: 3, baseMs: 1, retryable: () => true }), 'ok');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(withRetries(flaky, { attempts: 2, baseMs: 1, retryable: () => true }), /503/);
  assert.equal(calls, 2);
  calls = 0;
  await assert.rejects(withRetries(flaky, { attempts: 5, baseMs: 1, retryable: () => false }), /503/);
  assert.equal(calls, 1);
});
