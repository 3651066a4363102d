import type { ModeName } from '@archfarm/proto';
import { expectedDuration, type Expected, type HistoryView } from './history';
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

export function score(candidates: readonly Candidate[], ctx: RankContext): Scored[] {
  const { job, agents, history, settings } = ctx;
  const platform = job.platform.toString();
  const last = history.lastBuilt(job.repository, platform);
  const modeOf = (name: string): ModeName | undefined =>
    agents.find((a) => a.name === name)?.platforms.find((p) => p.platform.equals(job.platform))?.mode;
  return candidates.map((c) => ({
    ...c,
    warm: c.name === last,
    expected: expectedDuration(history, { agent: c.name, mode: c.mode, platform, repository: job.repository, crossCompile: job.crossCompile }, settings, modeOf),
  }));
}

/**
 * Best first: expected duration (ties within {@link TIE_TOLERANCE}; unknown after known),
 * then native before emulated (the only speed hint without history), then warm cache, then
 * most free slots and fewest running jobs (spreads a build's jobs), then name for stability.
 */
export function rank(scored: readonly Scored[]): Scored[] {
  const known = scored.flatMap((s) => (s.expected ? [s.expected.ms] : []));
  const fastest = known.length ? Math.min(...known) : 0;
  const tier = (s: Scored): number => {
    if (!s.expected) return Infinity;
    return s.expected.ms <= fastest * (1 + TIE_TOLERANCE) ? 0 : s.expected.ms;
  };
  return [...scored].sort(
    (a, b) =>
      compareNumbers(tier(a), tier(b)) ||
      modeRank(a.mode) - modeRank(b.mode) ||
      Number(b.warm) - Number(a.warm) ||
      b.free - a.free ||
      a.busy - b.busy ||
      a.name.localeCompare(b.name),
  );
}

/** The best candidate with a free slot, if any. */
export function best(candidates: readonly Candidate[], ctx: RankContext): Scored | undefined {
  return rank(score(candidates, ctx)).find((s) => s.free > 0);
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
