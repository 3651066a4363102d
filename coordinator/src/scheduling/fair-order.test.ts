import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fairOrder, type QueuedJob } from './fair-order';

const jobs = (buildId: string, buildCreatedAt: number, count: number, from = 0): QueuedJob[] =>
  Array.from({ length: count }, (_, i) => ({ buildId, buildCreatedAt, index: from + i }));
const label = (order: QueuedJob[]) => order.map((j) => `${j.buildId}${j.index}`);

test('a one-job build submitted after a 20-job build is not starved once the big one runs', () => {
  const big = jobs('big', 1_000, 17, 3); // 3 of its 20 jobs already run
  const small = jobs('small', 2_000, 1);
  const order = fairOrder([...big, ...small], new Map([['big', 3]]));
  assert.deepEqual(label(order).slice(0, 2), ['small0', 'big3']);
  assert.equal(order.length, 18);
});

test('builds take turns when nothing runs yet: the older first, then the newer, not twenty jobs later', () => {
  const order = fairOrder([...jobs('big', 1_000, 20), ...jobs('small', 2_000, 1)], new Map());
  assert.deepEqual(label(order).slice(0, 4), ['big0', 'small0', 'big1', 'big2']);
});

test('among builds with as many running jobs, the older goes first; within a build, by index', () => {
  const order = fairOrder([...jobs('new', 2_000, 2), ...jobs('old', 1_000, 2)].reverse(), new Map([['new', 1], ['old', 1]]));
  assert.deepEqual(label(order), ['old0', 'new0', 'old1', 'new1']);
});

test('stable and pure: equal jobs keep input order and the input is not changed', () => {
  const a = { buildId: 'b', buildCreatedAt: 1, index: 0, tag: 'first' };
  const b = { buildId: 'b', buildCreatedAt: 1, index: 0, tag: 'second' };
  const input = [a, b];
  assert.deepEqual(fairOrder(input, new Map()).map((j) => j.tag), ['first', 'second']);
  assert.deepEqual(input, [a, b]);
  assert.deepEqual(fairOrder([], new Map()), []);
});

test('builds created in the same millisecond are ordered by id', () => {
  const order = fairOrder([...jobs('y', 5, 1), ...jobs('x', 5, 1)], new Map());
  assert.deepEqual(label(order), ['x0', 'y0']);
});
