import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDiskSize, parseRetention, planPrune } from './retention';

const day = 86_400_000;
const item = (id: string, ageDays: number, bytes: number, inUse = false) => ({ id, bytes, lastUsedMs: 100 * day - ageDays * day, inUse });

test('parses the flags, naming the flag at fault', () => {
  assert.equal(parseRetention('7d'), 7 * day);
  assert.equal(parseRetention('90s'), 90_000);
  assert.equal(parseDiskSize('20GiB'), 20 * 1024 ** 3);
  assert.equal(parseDiskSize('1500'), 1500);
  assert.throws(() => parseRetention('7 days'), /--retention/);
  assert.throws(() => parseDiskSize('20 gigs'), /--max-disk/);
});

test('prunes what is past the retention, then the oldest until the total fits, never what is in use', () => {
  const items = [item('new', 0, 10), item('old', 9, 10), item('older-running', 20, 10, true), item('mid', 3, 10), item('mid2', 2, 10)];
  assert.deepEqual(planPrune(items, 100 * day, { retentionMs: 7 * day, maxDiskBytes: 1000 }).map((i) => i.id), ['old']);
  assert.deepEqual(planPrune(items, 100 * day, { retentionMs: 7 * day, maxDiskBytes: 25 }).map((i) => i.id), ['old', 'mid', 'mid2']);
  assert.deepEqual(planPrune(items, 100 * day, { retentionMs: 7 * day, maxDiskBytes: 0 }).map((i) => i.id), ['old', 'mid', 'mid2', 'new']);
});
