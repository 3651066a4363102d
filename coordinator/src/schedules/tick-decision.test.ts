import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideTick, type TickInput } from './tick-decision';

const DUE = Date.UTC(2026, 11, 3, 3, 0, 0);
const base = (platform: string, digest: string) => ({ platform, ref: '127.0.0.1:5000/base/busybox:1', digest });
const input = (over: Partial<TickInput>): TickInput => ({ cause: 'scheduled', dueAt: DUE, onBaseChange: false, history: {}, bases: [], changes: [], ...over });

test('a tick while the schedule\'s last build runs is skipped, saying which build', () => {
  for (const state of ['running', 'publishing'] as const) {
    const d = decideTick(input({ history: { latest: { id: 'b-1', state } } }));
    assert.equal(d.outcome, 'skipped');
    assert.match(d.reason, new RegExp(`build b-1 of this schedule is still ${state}`));
  }
  assert.equal(decideTick(input({ history: { latest: { id: 'b-1', state: 'failed' } } })).outcome, 'built');
});

test('without --on-base-change every tick builds', () => {
  assert.deepEqual(decideTick(input({ history: { latest: { id: 'b-1', state: 'published' }, lastPublished: { id: 'b-1', bases: [] } } })), { outcome: 'built', reason: 'scheduled' });
  assert.equal(decideTick(input({ cause: 'manual' })).reason, 'run by hand (schedules run)');
});

test('--on-base-change builds on a changed base or commit, or when there is nothing to compare with', () => {
  const bases = [base('linux/amd64', 'sha256:a'), base('linux/arm64', 'sha256:b')];
  const published = { latest: { id: 'b-1', state: 'published' as const }, lastPublished: { id: 'b-1', bases, commit: 'c1' } };
  const same = decideTick(input({ onBaseChange: true, history: published, bases, commit: 'c1' }));
  assert.deepEqual(same, { outcome: 'unchanged', reason: 'bases unchanged since build b-1 (1 image on 2 platforms) and commit c1' });
  const line = 'base 127.0.0.1:5000/base/busybox:1 linux/arm64 changed sha256:b -> sha256:c';
  assert.deepEqual(decideTick(input({ onBaseChange: true, history: published, bases, commit: 'c1', changes: [line] })), { outcome: 'built', reason: line });
  assert.deepEqual(decideTick(input({ onBaseChange: true, history: published, bases, commit: 'c2' })), { outcome: 'built', reason: 'git commit changed c1 -> c2' });
  assert.equal(decideTick(input({ onBaseChange: true, history: { latest: { id: 'b-2', state: 'failed' } }, bases })).reason, 'no published build of this schedule yet');
  const unrecorded = { ...published, lastPublished: { id: 'b-1', commit: 'c1' } };
  assert.deepEqual(decideTick(input({ onBaseChange: true, history: unrecorded, bases, commit: 'c1' })), { outcome: 'built', reason: 'the bases build b-1 used are not recorded' });
});

test('a missed tick says it was missed and when it was due', () => {
  const d = decideTick(input({ cause: 'missed' }));
  assert.equal(d.outcome, 'built');
  assert.equal(d.reason, 'missed tick due 2026-12-03T03:00:00.000Z while the coordinator was down, run once at start: scheduled');
  const skipped = decideTick(input({ cause: 'missed', history: { latest: { id: 'b-9', state: 'running' } } }));
  assert.match(skipped.reason, /^missed tick due .* run once at start: build b-9 of this schedule is still running/);
});
