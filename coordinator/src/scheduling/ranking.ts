import type { ModeName } from '@archfarm/proto';
import { inMode, peerMean, type Expected, type HistoryView, type PeerMean } from './history';
import type { AgentView, Candidate, JobView, PlacementSettings } from './placement-types';
import { formatDuration, names } from './reasons';

/**
 * Expected durations within this fraction of the fastest count as equal: build times vary
 * by more than that from run to run, and within it a warm cache or an idle machine matters more.
 */
const TIE_TOLERANCE = 0.1;

/** A candidate with what ranking knows about it. */
export interface Scored extends Candidate {
  expected: Expected | undefined;
  /** It last built this repository and platform. */
  warm: boolean;
}

export interface RankContext {
  job: JobView;
  agents: readonly AgentView[];
  history: HistoryView;
  settings: PlacementSettings;
}

/**
 * Each candidate with its expected duration (see expectedDuration) and cache warmth. The
 * peers' mean, which every candidate without history of its own shares, is worked out once.
 */
export function score(candidates: readonly Candidate[], ctx: RankContext): Scored[] {
  const { job, agents, history, settings } = ctx;
  const platform = job.platform.toString();
  const query = { platform, repository: job.repository, crossCompile: job.crossCompile };
  const last = history.lastBuilt(job.repository, platform);
  // Looked up once per peer: a map, since peers and agents both run into the thousands.
  let modes: Map<string, ModeName> | undefined;
  const modeOf = (name: string): ModeName | undefined => {
    if (!modes) {
      modes = new Map();
      for (const a of agents) {
        const p = a.platforms.find((q) => q.platform.equals(job.platform));
        if (p && !modes.has(a.name)) modes.set(a.name, p.mode);
      }
    }
    return modes.get(name);
  };
  // An agent without its own estimate is not among the peers, so expectedDuration's mean
  // for it leaves nobody out: the same for all of them.
  let shared: { mean: PeerMean | undefined } | undefined;
  const expected = (c: Candidate): Expected | undefined => {
    const own = history.expectedMs(c.name, platform, job.repository);
    if (own) return own;
    shared ??= { mean: peerMean(history, query, settings, modeOf) };
    return inMode(shared.mean, c.mode, job.crossCompile, settings);
  };
  // Fields listed rather than spread: one object shape, which V8 keeps fast over thousands of candidates.
  return candidates.map((c) => ({ name: c.name, mode: c.mode, free: c.free, busy: c.busy, warm: c.name === last, expected: expected(c) }));
}

/**
 * Best first: expected duration (ties within {@link TIE_TOLERANCE}; unknown after known),
 * then native before emulated (the only speed hint without history), then warm cache, then
 * most free slots and fewest running jobs (spreads a build's jobs), then name for stability.
 */
export function rank(scored: readonly Scored[]): Scored[] {
  return [...scored].sort(order(scored));
}

/**
 * The best candidate with a free slot, if any: the first of {@link rank} among those with a
 * free slot, found in one pass (the order is total, names being unique), since with thousands
 * of agents sorting them all for every job cost more than the rest of placement.
 */
export function best(candidates: readonly Candidate[], ctx: RankContext): Scored | undefined {
  const scored = score(candidates, ctx);
  const compare = order(scored);
  let pick: Scored | undefined;
  for (const s of scored) if (s.free > 0 && (!pick || compare(s, pick) < 0)) pick = s;
  return pick;
}

/** The ranking order; tiers are relative to the fastest of all `scored`, busy ones included. */
function order(scored: readonly Scored[]): (a: Scored, b: Scored) => number {
  let fastest = Infinity;
  for (const s of scored) if (s.expected && s.expected.ms < fastest) fastest = s.expected.ms;
  if (fastest === Infinity) fastest = 0;
  const tier = (s: Scored): number => {
    if (!s.expected) return Infinity;
    return s.expected.ms <= fastest * (1 + TIE_TOLERANCE) ? 0 : s.expected.ms;
  };
  return (a, b) =>
    compareNumbers(tier(a), tier(b)) ||
    modeRank(a.mode) - modeRank(b.mode) ||
    Number(b.warm) - Number(a.warm) ||
    b.free - a.free ||
    a.busy - b.busy ||
    a.name.localeCompare(b.name);
}

/** "expected 2 min 10 s from 5 builds; warm cache" */
export function describe(s: Scored): string {
  const parts = [describeExpected(s.expected)];
  if (s.warm) parts.push('warm cache');
  return parts.join('; ');
}

export function describeExpected(expected: Expected | undefined): string {
  if (!expected) return 'no history yet';
  if (expected.derivedFrom) return `expected ~${formatDuration(expected.ms)} (derived from builds on ${names(expected.derivedFrom.map((name) => ({ name })))})`;
  return `expected ${formatDuration(expected.ms)} from ${expected.samples} build${expected.samples === 1 ? '' : 's'}`;
}

function compareNumbers(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function modeRank(mode: ModeName): number {
  return mode === 'native' ? 0 : 1;
}
