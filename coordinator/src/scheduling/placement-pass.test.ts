import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '@archfarm/common';
import { DurationHistory } from './history';
import { decide, type AgentView, type Decision, type JobView } from './placement';
import { PlacementPass, type FleetIndex } from './placement-pass';
import { agent, history, job, pi, REPO, s390x, server, settings } from './placement-fixtures';
import { best, rank, score, type RankContext } from './ranking';
import { NAMED_AT_MOST } from './reasons';

const amd64 = Platform.parse('linux/amd64');
const riscv64 = Platform.parse('linux/riscv64');

/** A fleet index over plain views, as FleetViews gives the dispatcher: all by name, and by platform. */
function indexOf(agents: AgentView[]): FleetIndex {
  const sorted = [...agents].sort((a, b) => a.name.localeCompare(b.name));
  return {
    all: () => sorted,
    serving: (platform) => {
      const list = sorted.filter((a) => a.platforms.some((p) => p.platform.toString() === platform));
      return list.length ? list : undefined;
    },
  };
}

/** Places as the dispatcher does: a placement makes the agent one job busier before the next decision. */
function place(agents: AgentView[], jobs: JobView[], via: (j: JobView) => Decision): Decision[] {
  return jobs.map((j) => {
    const d = via(j);
    if (d.kind === 'place') agents.find((a) => a.name === d.agent)!.busy += 1;
    return d;
  });
}

function bothWays(make: () => AgentView[], jobs: JobView[], h = new DurationHistory()): { pass: Decision[]; fresh: Decision[] } {
  const forPass = make();
  const p = new PlacementPass(indexOf(forPass), h, settings);
  const pass = place(forPass, jobs, (j) => p.decide(j));
  const forFresh = make();
  const fresh = place(forFresh, jobs, (j) => decide(j, forFresh, h, settings));
  return { pass, fresh };
}

test('a pass decides every job as decide over the whole fleet would, placement after placement, waits included', () => {
  const make = () => [server('fast-1', { slots: 1 }), pi('pi-1'), pi('pi-2'), agent('z-1', { 'linux/s390x': 'native' }, { slots: 1 })];
  const jobs = [
    job(), job({ platform: s390x }), job(), job({ platform: amd64 }), job(), job({ platform: s390x }),
    job({ waitedMs: 40_000 }), job({ platform: amd64 }), job({ requireLabels: { gpu: 'yes' } }), job({ emulation: 'deny' }), job(),
    job({ platform: riscv64 }), job({ avoid: new Set(['pi-1']) }),
  ];
  const { pass, fresh } = bothWays(make, jobs);
  assert.deepEqual(pass, fresh);
  assert.deepEqual(pass.map((d) => d.kind), ['place', 'place', 'place', 'place', 'wait', 'wait', 'wait', 'wait', 'wait', 'wait', 'wait', 'wait', 'wait']);
  assert.match(pass[11]!.reason, /no connected agent builds linux\/riscv64.*connected: fast-1: .*; pi-1: linux\/arm64; pi-2: linux\/arm64; z-1: linux\/s390x\)/);
});

test('a pass agrees with decide with history, emulation allowed, and agents with several slots', () => {
  const make = () => [server('fast-1', { slots: 2 }), server('fast-2', { slots: 3, busy: 1 }), pi('pi-1'), pi('pi-2', { slots: 2 }), pi('pi-3')];
  const h = history([['pi-2', 60_000, 3, 'native'], ['fast-1', 200_000, 2, 'emulated'], ['pi-3', 90_000, 1, 'native']]);
  const jobs = Array.from({ length: 12 }, (_, i) => job({ emulation: i % 3 === 0 ? 'allow' : 'prefer-native', waitedMs: i * 5_000 }));
  const { pass, fresh } = bothWays(make, jobs, h);
  assert.deepEqual(pass, fresh);
  assert.ok(pass.filter((d) => d.kind === 'place').length >= 5, 'the fixture places several jobs');
});

test('a shared wait is dropped when slots free up mid-pass', () => {
  const agents = [pi('pi-1', { busy: 1 })];
  const p = new PlacementPass(indexOf(agents), new DurationHistory(), settings);
  assert.equal(p.decide(job({ emulation: 'deny' })).kind, 'wait');
  agents[0]!.busy = 0; // a failed build's job on pi-1 was cancelled
  assert.equal(p.decide(job({ emulation: 'deny' })).kind, 'wait', 'without being told, the pass keeps its wait');
  p.slotsFreed();
  assert.equal(p.decide(job({ emulation: 'deny' })).kind, 'place');
});

test('best finds what the full ranking puts first among free agents, over a large fleet', () => {
  // 300 agents, some busy, with and without history: ties, tiers, warm cache and names all matter.
  const agents = Array.from({ length: 300 }, (_, i) =>
    agent(`a-${(i * 37) % 300}`, { 'linux/arm64': i % 5 === 0 ? 'emulated' : 'native' }, { slots: 1 + (i % 3), busy: i % 4 === 0 ? 1 + (i % 3) : i % 2 }),
  );
  const h = new DurationHistory();
  for (let i = 0; i < 300; i += 7) h.record(`a-${i}`, 'linux/arm64', REPO, 60_000 + (i % 11) * 4_000, i % 5 === 0 ? 'emulated' : 'native');
  for (const j of [job(), job({ repository: 'other/repo' }), job({ crossCompile: true })]) {
    const ctx: RankContext = { job: j, agents, history: h, settings };
    const candidates = agents.map((a) => ({ name: a.name, mode: a.platforms[0]!.mode, free: a.slots - a.busy, busy: a.busy }));
    const expected = rank(score(candidates, ctx)).find((s) => s.free > 0);
    assert.ok(expected);
    assert.deepEqual(best(candidates, ctx), expected);
  }
});

test('reasons name at most a few agents and count the rest', () => {
  const many = Array.from({ length: NAMED_AT_MOST + 25 }, (_, i) => pi(`pi-${String(i).padStart(3, '0')}`, { busy: 1 }));
  const d = decide(job({ emulation: 'deny' }), many, new DurationHistory(), settings);
  assert.equal(d.kind, 'wait');
  assert.match(d.reason, /^all agents that build linux\/arm64 are busy: pi-000 \(native\), .*pi-009 \(native\) and 25 more$/);
  const few = decide(job({ emulation: 'deny' }), many.slice(0, 2), new DurationHistory(), settings);
  assert.equal(few.reason, 'all agents that build linux/arm64 are busy: pi-000 (native), pi-001 (native)');
});
