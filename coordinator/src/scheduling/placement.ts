import { InvalidInputError } from '@archfarm/common';
import { eligibility, waitBusy, whyNotNative } from './eligibility';
import type { HistoryView } from './history';
import type { AgentView, Candidate, Decision, JobView, PlacementSettings } from './placement-types';
import { best, describe, describeExpected, rank, score, type RankContext, type Scored } from './ranking';
import { formatDuration, names } from './reasons';

export type { AgentView, Decision, EmulationPolicy, JobView, PlacementSettings } from './placement-types';
export type { HistoryView } from './history';

export const DEFAULT_PLACEMENT: Readonly<PlacementSettings> = Object.freeze({
  nativeWaitMs: 30_000,
  emulationFactor: 5,
  crossCompileFactor: 1.3,
});

/** Settings over the defaults, validated once: a factor below 1 would make emulation look faster than native. */
export function placementSettings(overrides: Partial<PlacementSettings> = {}): PlacementSettings {
  const settings = { ...DEFAULT_PLACEMENT, ...overrides };
  if (!(Number.isFinite(settings.nativeWaitMs) && settings.nativeWaitMs >= 0)) {
    throw new InvalidInputError('nativeWaitMs', `must be a duration of 0 or more, got ${settings.nativeWaitMs}`);
  }
  for (const field of ['emulationFactor', 'crossCompileFactor'] as const) {
    const value = settings[field];
    if (!(Number.isFinite(value) && value >= 1)) throw new InvalidInputError(field, `must be a number of 1 or more, got ${value}`);
  }
  return settings;
}

/**
 * Where to run one queued job now, or why it waits or cannot run. Pure: the caller passes
 * the connected agents, history and the time the job has waited. Agents in `job.avoid`
 * (they failed it) are used only when no other agent can take it now.
 */
export function decide(job: JobView, agents: readonly AgentView[], history: HistoryView, settings: PlacementSettings): Decision {
  const gate = eligibility(job, agents);
  if ('decision' in gate) return gate.decision;
  const ctx: RankContext = { job, agents, history, settings };
  const trusted = gate.eligible.filter((c) => !job.avoid.has(c.name));
  const first = applyPolicy(trusted, ctx);
  if (first.kind === 'place' || trusted.length === gate.eligible.length) return first;
  const last = applyPolicy(gate.eligible, ctx);
  if (last.kind !== 'place') return last;
  return { ...last, reason: `${last.reason}; it failed this job before, but no other agent can take it now` };
}

function applyPolicy(candidates: Candidate[], ctx: RankContext): Decision {
  switch (ctx.job.emulation) {
    case 'deny':
      return nativeOnly(candidates, ctx);
    case 'allow':
      return fastest(candidates, ctx);
    default:
      return preferNative(candidates, ctx);
  }
}

/** deny: eligibility kept native agents only; wait for one to free up. */
function nativeOnly(candidates: Candidate[], ctx: RankContext): Decision {
  const pick = best(candidates, ctx);
  return pick ? place(pick, describe(pick)) : waitBusy(ctx.job.platform.toString(), candidates);
}

/**
 * prefer-native: a free native agent; else, when native agents exist but are busy, wait up
 * to nativeWaitMs for one (a native build is usually several times faster than emulating,
 * so a short wait pays), then emulate; with no native agent at all, emulate at once.
 */
function preferNative(candidates: Candidate[], ctx: RankContext): Decision {
  const { job, settings } = ctx;
  const platform = job.platform.toString();
  const natives = candidates.filter((c) => c.mode === 'native');
  const emulating = candidates.filter((c) => c.mode === 'emulated');
  const native = best(natives, ctx);
  if (native) return place(native, describe(native));
  const emulated = best(emulating, ctx);
  if (natives.length === 0) {
    return emulated ? place(emulated, `${whyNotNative(job, ctx.agents)}; ${describe(emulated)}`) : waitBusy(platform, candidates);
  }
  if (emulating.length > 0 && job.waitedMs < settings.nativeWaitMs) {
    // No countdown in the words: the reason is re-sent whenever it changes, and this one holds still.
    const limit = formatDuration(settings.nativeWaitMs);
    return { kind: 'wait', reason: `waiting up to ${limit} for a busy native agent for ${platform} (${names(natives)}) before emulating` };
  }
  if (!emulated) return waitBusy(platform, candidates);
  const waited = `waited ${formatDuration(job.waitedMs)} for native agents ${names(natives)}`;
  return place(emulated, `${waited}; ${describe(emulated)}`);
}

/** allow: every eligible agent competes on expected duration; the reason names the best of the other mode. */
function fastest(candidates: Candidate[], ctx: RankContext): Decision {
  const scored = score(candidates, ctx);
  const pick = rank(scored).find((s) => s.free > 0);
  if (!pick) return waitBusy(ctx.job.platform.toString(), candidates);
  const rival = rank(scored.filter((s) => s.mode !== pick.mode))[0];
  return place(pick, versus(pick, rival, ctx.job.crossCompile));
}

/** "expected 40 s vs 3 min native on pi-1 (cross-compiling Dockerfile)" */
function versus(pick: Scored, rival: Scored | undefined, crossCompile: boolean): string {
  let vs = '';
  if (rival && pick.expected) {
    const theirs = rival.expected ? formatDuration(rival.expected.ms) : 'unknown';
    vs = ` vs ${theirs} ${rival.mode} on ${rival.name}${rival.free > 0 ? '' : ', which is busy'}`;
  }
  const cross = pick.mode === 'emulated' && crossCompile ? ' (cross-compiling Dockerfile)' : '';
  const text = `${describeExpected(pick.expected)}${vs}${cross}`;
  return pick.warm ? `${text}; warm cache` : text;
}

function place(pick: Scored, why: string): Decision {
  return { kind: 'place', agent: pick.name, mode: pick.mode, reason: `${pick.mode} on ${pick.name}: ${why}` };
}
