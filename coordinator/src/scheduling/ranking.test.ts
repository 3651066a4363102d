import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurationHistory } from './history';
import { decide } from './placement';
import { history, job, pi, REPO, server, settings } from './placement-fixtures';

test('history ranks native agents: the clearly faster one wins, even over a warm cache', () => {
  const h = history([['pi-2', 60_000, 3], ['pi-1', 120_000, 2]]);
  const d = decide(job(), [pi('pi-1'), pi('pi-2')], h, settings);
  assert.deepEqual(d, { kind: 'place', agent: 'pi-2', mode: 'native', reason: 'native on pi-2: expected 1 min from 3 builds' });
});

test('cache affinity breaks ties: similar durations go to the agent that last built it', () => {
  const h = history([['pi-2', 125_000, 4], ['pi-1', 130_000, 5]]);
  const d = decide(job(), [pi('pi-1'), pi('pi-2')], h, settings);
  assert.deepEqual(d, { kind: 'place', agent: 'pi-1', mode: 'native', reason: 'native on pi-1: expected 2 min 10 s from 5 builds; warm cache' });
});

test('an agent without history gets an estimate derived from its peers, and the warm one wins the tie', () => {
  const h = history([['pi-1', 130_000, 5, 'native']]);
  const d = decide(job(), [pi('pi-2'), pi('pi-1')], h, settings);
  assert.equal(d.kind === 'place' && d.agent, 'pi-1');
  const busy = decide(job(), [pi('pi-2'), pi('pi-1', { busy: 1 })], h, settings);
  assert.equal(busy.kind === 'place' && busy.reason, 'native on pi-2: expected ~2 min 10 s (derived from builds on pi-1)');
});

test('without history, load decides: most free slots, then fewest running, then name', () => {
  const servers = [server('b', { slots: 4, busy: 1 }), server('a', { slots: 4, busy: 2 }), server('c', { slots: 8, busy: 4 })];
  const d = decide(job({ platform: servers[0]!.platforms[0]!.platform }), servers, new DurationHistory(), settings);
  assert.equal(d.kind === 'place' && d.agent, 'c');
  const even = [server('b'), server('a')];
  const tie = decide(job({ platform: even[0]!.platforms[0]!.platform }), even, new DurationHistory(), settings);
  assert.equal(tie.kind === 'place' && tie.agent, 'a');
});

test('allow picks a fast emulating server over a slow Pi for a cross-compiling build, and says why', () => {
  const h = history([['fast-1', 40_000, 5, 'emulated'], ['pi-1', 180_000, 4, 'native']]);
  const d = decide(job({ emulation: 'allow', crossCompile: true }), [pi('pi-1'), server('fast-1')], h, settings);
  assert.deepEqual(d, {
    kind: 'place',
    agent: 'fast-1',
    mode: 'emulated',
    reason: 'emulated on fast-1: expected 40 s from 5 builds vs 3 min native on pi-1 (cross-compiling Dockerfile)',
  });
});

test('allow without history still prefers native: emulation is assumed slower', () => {
  const d = decide(job({ emulation: 'allow' }), [server('fast-1', { slots: 16 }), pi('pi-1')], new DurationHistory(), settings);
  assert.equal(d.kind === 'place' && d.agent, 'pi-1');
});

test('allow: an emulating server without its own history is estimated from the Pi by the factor', () => {
  const h = history([['pi-1', 100_000, 3, 'native']]);
  const plain = decide(job({ emulation: 'allow' }), [pi('pi-1'), server('fast-1')], h, settings);
  assert.equal(plain.kind === 'place' && plain.agent, 'pi-1');
  assert.match(plain.reason, /expected 1 min 40 s from 3 builds vs ~?8 min 20 s emulated on fast-1/);
  const busyPi = decide(job({ emulation: 'allow', crossCompile: true }), [pi('pi-1', { busy: 1 }), server('fast-1')], h, settings);
  assert.equal(busyPi.kind === 'place' && busyPi.reason, 'emulated on fast-1: expected ~2 min 10 s (derived from builds on pi-1) vs 1 min 40 s native on pi-1, which is busy (cross-compiling Dockerfile)');
});

test('history is per repository: another repository teaches nothing', () => {
  const h = new DurationHistory();
  h.record('pi-2', 'linux/arm64', 'elsewhere/other', 1_000);
  h.record('pi-1', 'linux/arm64', REPO, 500_000);
  const d = decide(job(), [pi('pi-1'), pi('pi-2')], h, settings);
  assert.equal(d.kind === 'place' && d.agent, 'pi-1');
});
