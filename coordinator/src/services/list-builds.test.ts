import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError } from '@archfarm/common';
import { BuildState, ListBuildsRequest } from '@archfarm/proto';
import { listBuildsQuery } from './list-builds';

const NOW = 1_700_000_000_000;
const req = (fields: Partial<ListBuildsRequest>): ListBuildsRequest => ListBuildsRequest.fromPartial(fields);

test('listBuildsQuery: an empty request is the newest 20 of any kind', () => {
  assert.deepEqual(listBuildsQuery(req({}), NOW), { limit: 20, filter: {} });
});

test('listBuildsQuery: states by the store names, the age by the coordinator clock, the schedule', () => {
  const q = listBuildsQuery(req({ limit: 7, schedule: 'nightly', states: [BuildState.BUILD_STATE_FAILED, BuildState.BUILD_STATE_CANCELLED], createdWithinMs: 7_200_000 }), NOW);
  assert.deepEqual(q, { limit: 7, filter: { schedule: 'nightly', states: ['failed', 'cancelled'], createdSince: NOW - 7_200_000 } });
});

test('listBuildsQuery refuses an unknown state, a negative age and a limit over 500', () => {
  assert.throws(() => listBuildsQuery(req({ states: [BuildState.BUILD_STATE_UNSPECIFIED] }), NOW), InvalidInputError);
  assert.throws(() => listBuildsQuery(req({ states: [42 as BuildState] }), NOW), InvalidInputError);
  assert.throws(() => listBuildsQuery(req({ createdWithinMs: -1 }), NOW), InvalidInputError);
  assert.throws(() => listBuildsQuery(req({ limit: 501 }), NOW), /501 is over 500/);
  assert.equal(listBuildsQuery(req({ limit: 500 }), NOW).limit, 500);
});
