import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DurationHistory } from '../scheduling/history';
import { agent, arm64, job, pi, server, settings } from '../scheduling/placement-fixtures';
import { decidePaired } from './placement';

const none = new DurationHistory();
const check = (partner?: { agent: string; mode: 'native' | 'emulated' }) => ({ platform: arm64, check: true, partner });

test('the check waits until the platform\'s own job has succeeded', () => {
  const d = decidePaired(job(), check(), [pi('pi-1'), server('x86-1')], none, settings);
  assert.equal(d.kind, 'wait');
  assert.match(d.reason, /cross-check of linux\/arm64 waits for the platform's own build to finish, then builds it again on another agent without the cache/);
});

test('never on the agent of the other build; the other mode preferred where one is free', () => {
  const fleet = [pi('pi-1'), pi('pi-2'), server('x86-1')];
  const d = decidePaired(job(), check({ agent: 'pi-1', mode: 'native' }), fleet, none, settings);
  assert.deepEqual([d.kind, d.kind === 'place' && d.agent, d.kind === 'place' && d.mode], ['place', 'x86-1', 'emulated']);
  assert.match(d.reason, /^cross-check \(first build native on pi-1\): the other mode: emulated on x86-1/);
  // The emulating agent is full: another native agent rather than waiting.
  const full = [pi('pi-1'), pi('pi-2'), server('x86-1', { busy: 2 })];
  const next = decidePaired(job(), check({ agent: 'pi-1', mode: 'native' }), full, none, settings);
  assert.deepEqual([next.kind, next.kind === 'place' && next.agent], ['place', 'pi-2']);
  // Emulated first: a native agent for the check.
  const back = decidePaired(job(), check({ agent: 'x86-1', mode: 'emulated' }), fleet, none, settings);
  assert.deepEqual([back.kind, back.kind === 'place' && back.mode], ['place', 'native']);
});

test('two agents of one mode: the check takes the one the other build is not on, even if that one is free', () => {
  const fleet = [server('a'), server('b')];
  for (const [first, other] of [['a', 'b'], ['b', 'a']] as const) {
    const d = decidePaired(job(), check({ agent: first, mode: 'emulated' }), fleet, none, settings);
    assert.deepEqual([d.kind, d.kind === 'place' && d.agent], ['place', other]);
  }
  // The platform's own job, retried while its check runs on b, avoids b too (b has the free slot).
  const own = decidePaired(job(), { platform: arm64, check: false, partner: { agent: 'b', mode: 'emulated' } }, [server('a', { busy: 1 }), server('b')], none, settings);
  assert.deepEqual([own.kind, own.kind === 'place' && own.agent], ['place', 'a']);
});

test('with one agent for the platform the check waits, naming it and what to connect', () => {
  const d = decidePaired(job(), check({ agent: 'a', mode: 'emulated' }), [server('a'), agent('amd-only', { 'linux/amd64': 'native' })], none, settings);
  assert.equal(d.kind, 'wait');
  assert.match(d.reason, /cross-check of linux\/arm64 needs a second agent that builds it, and only a does; connect another agent for linux\/arm64/);
});

test('--emulation deny: only another native agent, else a wait (not a failure: one may connect)', () => {
  const fleet = [pi('pi-1'), server('x86-1')];
  const d = decidePaired(job({ emulation: 'deny' }), check({ agent: 'pi-1', mode: 'native' }), fleet, none, settings);
  assert.equal(d.kind, 'wait');
  assert.match(d.reason, /no native agent for linux\/arm64 other than pi-1/);
  const two = decidePaired(job({ emulation: 'deny' }), check({ agent: 'pi-1', mode: 'native' }), [...fleet, pi('pi-2')], none, settings);
  assert.deepEqual([two.kind, two.kind === 'place' && two.agent], ['place', 'pi-2']);
});
