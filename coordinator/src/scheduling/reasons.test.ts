import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from './reasons';

test('formats durations as operators read them', () => {
  assert.equal(formatDuration(400), '<1 s');
  assert.equal(formatDuration(40_000), '40 s');
  assert.equal(formatDuration(180_000), '3 min');
  assert.equal(formatDuration(130_000), '2 min 10 s');
  assert.equal(formatDuration(3_900_000), '1 h 5 min');
  assert.equal(formatDuration(7_200_000), '2 h');
});
