import { InvalidInputError } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';

/** A learned duration: the weighted mean and how many builds it rests on. */
export interface Estimate {
  ms: number;
  samples: number;
}

/** One agent's learned duration for a platform and repository. */
export interface PeerEstimate extends Estimate {
  agent: string;
  /** The mode it built in, when recorded. */
  mode?: ModeName;
}

/** What placement reads from build history. */
export interface HistoryView {
  /** The agent's own learned duration for this platform and repository. */
  expectedMs(agent: string, platform: string, repository: string): Estimate | undefined;
  /** The agent that last built this repository and platform: its cache is warm. */
  lastBuilt(repository: string, platform: string): string | undefined;
  /** Every agent's learned duration for this platform and repository (each one expectedMs answers for). */
  peers(platform: string, repository: string): readonly PeerEstimate[];
}

export interface DurationHistoryOptions {
  /** Weight of the newest build in the mean, in (0, 1]. Default 0.3: a few builds move it. */
  alpha?: number;
}

interface Group {
  byAgent: Map<string, PeerEstimate>;
  last: string | undefined;
}

/**
 * Build durations per (agent, platform, repository) as exponentially weighted means, so a
 * machine that got faster (new disk, warm cache) or slower is noticed within a few builds
 * instead of being averaged away by its whole past. In memory; the coordinator may seed it.
 */
export class DurationHistory implements HistoryView {
  private readonly alpha: number;
  /** By repository, then platform. */
  private readonly groups = new Map<string, Map<string, Group>>();

  constructor(options: DurationHistoryOptions = {}) {
    this.alpha = options.alpha ?? 0.3;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new InvalidInputError('alpha', `must be in (0, 1], got ${this.alpha}`);
  }

  /** Records a finished build; `mode` lets estimates for other agents be derived from it. */
  record(agent: string, platform: string, repository: string, ms: number, mode?: ModeName): void {
    // A clock step can yield a negative or absurd duration; one bad sample must not poison the mean.
    if (!Number.isFinite(ms) || ms < 0) return;
    const group = this.group(repository, platform, true);
    const prev = group.byAgent.get(agent);
    const mean = prev ? prev.ms + this.alpha * (ms - prev.ms) : ms;
    group.byAgent.set(agent, { agent, ms: mean, samples: (prev?.samples ?? 0) + 1, mode: mode ?? prev?.mode });
    group.last = agent;
  }

  expectedMs(agent: string, platform: string, repository: string): Estimate | undefined {
    const entry = this.group(repository, platform, false)?.byAgent.get(agent);
    return entry && { ms: entry.ms, samples: entry.samples };
  }

  lastBuilt(repository: string, platform: string): string | undefined {
    return this.group(repository, platform, false)?.last;
  }

  peers(platform: string, repository: string): readonly PeerEstimate[] {
    return [...(this.group(repository, platform, false)?.byAgent.values() ?? [])];
  }

  private group(repository: string, platform: string, create: true): Group;
  private group(repository: string, platform: string, create: false): Group | undefined;
  private group(repository: string, platform: string, create: boolean): Group | undefined {
    // Nested maps, not a joined key: ranking looks a group up once per candidate, and the
    // caller's strings hash once while a joined key would be built and hashed every time.
    let byPlatform = this.groups.get(repository);
    if (!byPlatform) {
      if (!create) return undefined;
      this.groups.set(repository, (byPlatform = new Map()));
    }
    let group = byPlatform.get(platform);
    if (!group && create) byPlatform.set(platform, (group = { byAgent: new Map(), last: undefined }));
    return group;
  }
}

/** Slowdown of emulated over native builds, for estimates derived across modes. */
export interface ModeFactors {
  emulationFactor: number;
  crossCompileFactor: number;
}

export interface EstimateQuery {
  agent: string;
  mode: ModeName;
  platform: string;
  repository: string;
  crossCompile: boolean;
}

/** An estimate; `derivedFrom` names the other agents it was derived from, when it is not the agent's own. */
export interface Expected extends Estimate {
  derivedFrom?: readonly string[];
}

/**
 * The expected duration of a build on one agent: its own history, else the other agents'
 * history for the same platform and repository turned into a native-equivalent mean
 * (emulated ÷ factor), weighted by their builds, then turned into this agent's mode
 * (× factor when it emulates). It ignores that machines differ in speed: a first guess that
 * the agent's own builds replace. `modeOf` gives the mode of peers recorded without one.
 * Undefined when nothing is known: ranking then falls back to cache and load.
 */
export function expectedDuration(
  history: HistoryView,
  query: EstimateQuery,
  factors: ModeFactors,
  modeOf: (agent: string) => ModeName | undefined,
): Expected | undefined {
  return history.expectedMs(query.agent, query.platform, query.repository) ?? inMode(peerMean(history, query, factors, modeOf, query.agent), query.mode, query.crossCompile, factors);
}

/** The peers' native-equivalent mean for a platform and repository, weighted by their builds. */
export interface PeerMean {
  nativeMs: number;
  samples: number;
  from: string[];
}

/**
 * What {@link expectedDuration} derives from the other agents, for every agent without history
 * of its own at once: ranking asks for it once per job, not once per candidate, which at
 * thousands of agents is the difference between O(agents) and O(agents²) per placement.
 */
export function peerMean(
  history: HistoryView,
  query: Pick<EstimateQuery, 'platform' | 'repository' | 'crossCompile'>,
  factors: ModeFactors,
  modeOf: (agent: string) => ModeName | undefined,
  except?: string,
): PeerMean | undefined {
  const factor = query.crossCompile ? factors.crossCompileFactor : factors.emulationFactor;
  let total = 0;
  let samples = 0;
  const from: string[] = [];
  for (const peer of history.peers(query.platform, query.repository)) {
    const mode = peer.mode ?? modeOf(peer.agent);
    if (peer.agent === except || mode === undefined) continue;
    total += (mode === 'native' ? peer.ms : peer.ms / factor) * peer.samples;
    samples += peer.samples;
    from.push(peer.agent);
  }
  return samples === 0 ? undefined : { nativeMs: total / samples, samples, from };
}

/** A peer mean as the duration expected in `mode`. */
export function inMode(mean: PeerMean | undefined, mode: ModeName, crossCompile: boolean, factors: ModeFactors): Expected | undefined {
  if (!mean) return undefined;
  const factor = crossCompile ? factors.crossCompileFactor : factors.emulationFactor;
  return { ms: mode === 'native' ? mean.nativeMs : mean.nativeMs * factor, samples: mean.samples, derivedFrom: mean.from };
}
