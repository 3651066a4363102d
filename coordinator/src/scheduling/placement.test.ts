import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { DurationHistory } from './history';
import { decide, placementSettings, type AgentView, type Decision, type JobView } from './placement';
import { job, pi, s390x, server, settings } from './placement-fixtures';

const none = new DurationHistory();
const run = (j: JobView, agents: AgentView[]): Decision => decide(j, agents, none, settings);

test('prefer-native: a native agent beats an emulating one, even with fewer free slots', () => {
  const d = run(job(), [server('fast-1', { slots: 8 }), pi('pi-1')]);
  assert.deepEqual(d, { kind: 'place', agent: 'pi-1', mode: 'native', reason: 'native on pi-1: no history yet' });
});

test('prefer-native: emulates at once when no native agent is connected, and says so', () => {
  const d = run(job({ platform: s390x }), [server('fast-1'), pi('pi-1')]);
  assert.equal(d.kind, 'place');
  assert.equal(d.kind === 'place' && d.mode, 'emulated');
  assert.match(d.reason, /^emulated on fast-1: no native agent for linux\/s390x is connected/);
});

test('prefer-native: waits for busy native agents, then emulates after nativeWaitMs', () => {
  const agents = [server('fast-1'), pi('pi-1', { busy: 1 }), pi('pi-2', { busy: 1 })];
  const early = run(job({ waitedMs: 12_000 }), agents);
  assert.equal(early.kind, 'wait');
  assert.equal(run(job({ waitedMs: 13_000 }), agents).reason, early.reason, 'the reason holds still while waiting');
  assert.match(early.reason, /^waiting up to 30 s for a busy native agent for linux\/arm64 \(pi-1, pi-2\) before emulating$/);
  const late = run(job({ waitedMs: 30_000 }), agents);
  assert.equal(late.kind === 'place' && `${late.agent} ${late.mode}`, 'fast-1 emulated');
  assert.match(late.reason, /waited 30 s for native agents pi-1, pi-2/);
});

test('prefer-native: with busy natives and nothing to emulate on, waits and names them', () => {
  const d = run(job({ waitedMs: 60_000 }), [pi('pi-1', { busy: 1 })]);
  assert.deepEqual(d, { kind: 'wait', reason: 'all agents that build linux/arm64 are busy: pi-1 (native)' });
});

test('deny never emulates: waits for busy natives however long, impossible without any', () => {
  const deny = (extra: Partial<JobView>) => job({ emulation: 'deny', ...extra });
  const busy = run(deny({ waitedMs: 3_600_000 }), [server('fast-1'), pi('pi-1', { busy: 1 })]);
  assert.deepEqual(busy, { kind: 'wait', reason: 'all agents that build linux/arm64 are busy: pi-1 (native)' });
  const none = run(deny({ platform: s390x }), [server('fast-1'), pi('pi-1')]);
  assert.equal(none.kind, 'impossible');
  assert.match(none.reason, /no native agent for linux\/s390x is connected and --emulation deny forbids emulating it \(only emulating: fast-1\)/);
  assert.equal(run(deny({}), []).kind, 'impossible');
  const drained = run(deny({}), [server('fast-1'), pi('pi-1', { drained: true })]);
  assert.match(drained.reason, /drained: pi-1/);
  assert.equal(drained.kind, 'wait');
});

test('deny places on a free native agent', () => {
  const d = run(job({ emulation: 'deny' }), [server('fast-1'), pi('pi-1')]);
  assert.equal(d.kind === 'place' && `${d.agent} ${d.mode}`, 'pi-1 native');
});

test('required labels: only agents carrying every one; none connected is a wait naming them', () => {
  const labelled = pi('pi-2', { labels: { rack: 'pi-shelf', ssd: 'yes' } });
  const d = run(job({ requireLabels: { rack: 'pi-shelf' } }), [pi('pi-1', { labels: { rack: 'desk' } }), labelled]);
  assert.equal(d.kind === 'place' && d.agent, 'pi-2');
  const w = run(job({ requireLabels: { rack: 'pi-shelf', ssd: 'yes' } }), [pi('pi-1', { labels: { rack: 'pi-shelf' } })]);
  assert.equal(w.kind, 'wait');
  assert.match(w.reason, /no connected agent that builds linux\/arm64 carries rack=pi-shelf, ssd=yes \(agents that build it: pi-1 \{rack=pi-shelf\}\)/);
});

test('drained agents take no new job; a drained native agent is named when emulating instead', () => {
  const d = run(job(), [pi('pi-1', { drained: true }), server('fast-1')]);
  assert.equal(d.kind === 'place' && d.agent, 'fast-1');
  assert.match(d.reason, /pi-1 is drained/);
  assert.equal(run(job(), [pi('pi-1', { drained: true })]).kind, 'wait');
});

test('never places more jobs on an agent than its slots', () => {
  const agents = [server('a', { slots: 2 }), server('b', { slots: 2 })].map((a) => ({ ...a, platforms: a.platforms.slice(0, 1) }));
  const placed: string[] = [];
  for (let i = 0; i < 10; i++) {
    const d = run(job({ platform: agents[0]!.platforms[0]!.platform }), agents);
    if (d.kind !== 'place') break;
    placed.push(d.agent);
    agents.find((a) => a.name === d.agent)!.busy++;
  }
  assert.deepEqual(placed, ['a', 'b', 'a', 'b']);
  assert.deepEqual(agents.map((a) => a.busy), [2, 2]);
});

test('an agent that failed the job is a last resort', () => {
  const avoid = new Set(['pi-1']);
  const d = run(job({ avoid }), [pi('pi-1'), pi('pi-2')]);
  assert.equal(d.kind === 'place' && d.agent, 'pi-2');
  const emulate = run(job({ avoid }), [pi('pi-1'), server('fast-1')]);
  assert.equal(emulate.kind === 'place' && emulate.agent, 'fast-1');
  assert.match(emulate.reason, /pi-1 failed this job before/);
  const only = run(job({ avoid }), [pi('pi-1')]);
  assert.equal(only.kind === 'place' && only.agent, 'pi-1');
  assert.match(only.reason, /it failed this job before, but no other agent can take it now$/);
});

test('explains a platform nobody builds', () => {
  assert.match(run(job({ platform: s390x }), [pi('pi-1')]).reason, /no connected agent builds linux\/s390x, natively or emulated \(connected: pi-1: linux\/arm64\)/);
  assert.match(run(job(), []).reason, /no agent is connected/);
});

test('settings: defaults, overrides, and bad values named', () => {
  assert.deepEqual(placementSettings(), { nativeWaitMs: 30_000, emulationFactor: 5, crossCompileFactor: 1.3 });
  assert.equal(placementSettings({ nativeWaitMs: 0 }).nativeWaitMs, 0);
  assert.throws(() => placementSettings({ emulationFactor: 0.5 }), (e) => e instanceof InvalidInputError && e.field === 'emulationFactor');
  assert.throws(() => placementSettings({ nativeWaitMs: -1 }), InvalidInputError);
});
