import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode } from '@archfarm/proto';
import { LogPositions } from './log-positions';
import { jobLog } from './testing/events';

const log = (text: string, offset: number, attempt = 1, platform = 'linux/arm64') => jobLog(platform, 'pi-1', BuildMode.BUILD_MODE_NATIVE, text, attempt, offset);

test('each byte once per attempt: a chunk held whole is dropped, one that overlaps is cut at what is held', () => {
  const held = new LogPositions();
  assert.equal(held.take(log('abc', 0))?.data.toString(), 'abc');
  assert.equal(held.take(log('abc', 0)), undefined);
  assert.equal(held.take(log('b', 1)), undefined);
  const cut = held.take(log('cdef', 2));
  assert.deepEqual([cut?.data.toString(), cut?.offset], ['def', 3]);
  // Another attempt and another platform count from their own start.
  assert.equal(held.take(log('xy', 0, 2))?.data.toString(), 'xy');
  assert.equal(held.take(log('s', 0, 1, 'linux/s390x'))?.data.toString(), 's');
  assert.deepEqual(held.list(), [
    { platform: 'linux/arm64', attempt: 1, offset: 6 },
    { platform: 'linux/arm64', attempt: 2, offset: 2 },
    { platform: 'linux/s390x', attempt: 1, offset: 1 },
  ]);
});
