import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, ratePerSecond, summarize, trailingMean } from './stats';

test('percentile interpolates between the closest ranks', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([4, 1, 3, 2], 0), 1);
  assert.equal(percentile([4, 1, 3, 2], 100), 4);
  assert.equal(percentile([10], 99), 10);
  assert.ok(Math.abs(percentile([...Array(101).keys()], 99) - 99) < 1e-9);
});

test('median of an odd sample is its middle value; the input is not reordered', () => {
  const values = [9, 1, 5];
  assert.equal(median(values), 5);
  assert.deepEqual(values, [9, 1, 5]);
});

test('an empty sample or a bad p is refused', () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => summarize([]), RangeError);
});

test('summarize gives n, extremes, mean and percentiles', () => {
  assert.deepEqual(summarize([3, 1, 2]), { n: 3, min: 1, p50: 2, p99: 2.98, max: 3, mean: 2 });
});

test('rate counts intervals between the first and last event', () => {
  assert.equal(ratePerSecond([0, 500, 1000]), 2);
  assert.equal(ratePerSecond([5]), 0);
  assert.equal(ratePerSecond([7, 7]), 0);
});

test('trailingMean averages each value with the ones before it, fewer at the start', () => {
  assert.deepEqual(trailingMean([0, 400, 0, 400, 0, 400], 2), [0, 200, 200, 200, 200, 200]);
  assert.deepEqual(trailingMean([3, 6, 9], 5), [3, 4.5, 6]);
  assert.deepEqual(trailingMean([], 5), []);
});
