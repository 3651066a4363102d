import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TooManyWatchesError } from '../errors';
import { WatchQuota } from './watch-quota';

test('a caller holds at most the limit of watches; an ended one frees its place (once)', () => {
  const quota = new WatchQuota(2);
  const call = {};
  const first = quota.take(call);
  quota.take(call);
  assert.throws(() => quota.take(call), (err: unknown) => err instanceof TooManyWatchesError && /holds 2 watches/.test(err.message));
  first();
  first();
  quota.take(call);
  assert.throws(() => quota.take(call), TooManyWatchesError, 'a second release of one watch frees nothing');
});
