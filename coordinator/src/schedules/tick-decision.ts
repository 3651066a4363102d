import type { BuildState, PlatformBaseRecord, TickCause, TickOutcome } from '../store';

/** What the schedule's last builds were, as the store has them. */
export interface TickHistory {
  /** The schedule's newest build, any state. */
  latest?: { id: string; state: BuildState };
  /**
   * What its newest published build was made from: the bases its tick resolved (undefined
   * when that tick resolved none) and the git commit.
   */
  lastPublished?: { id: string; bases?: PlatformBaseRecord[]; commit?: string };
}

export interface TickInput {
  cause: TickCause;
  dueAt: number;
  onBaseChange: boolean;
  history: TickHistory;
  /** Resolved at this tick: the git commit (git contexts) and, with onBaseChange, the bases. */
  commit?: string;
  bases: PlatformBaseRecord[];
  /** The lines baseChanges gives for the last published build's bases against `bases`. */
  changes: string[];
}

export interface TickDecision {
  outcome: Exclude<TickOutcome, 'failed'>;
  reason: string;
}

const UNFINISHED: ReadonlySet<BuildState> = new Set(['running', 'publishing']);

/** Whether the schedule's newest build still runs: a tick then never starts another. */
export function stillRunning(history: TickHistory): string | undefined {
  const latest = history.latest;
  return latest && UNFINISHED.has(latest.state) ? `build ${latest.id} of this schedule is still ${latest.state}: a schedule never runs two builds of itself at once` : undefined;
}

/**
 * Whether a tick builds, and why, in words for `schedules show`. Pure: the scheduler gathers
 * the history and the resolved bases and commit, and applies the decision.
 */
export function decideTick(input: TickInput): TickDecision {
  const prefix = input.cause === 'missed' ? `missed tick due ${new Date(input.dueAt).toISOString()} while the coordinator was down, run once at start: ` : '';
  const running = stillRunning(input.history);
  if (running) return { outcome: 'skipped', reason: prefix + running };
  if (!input.onBaseChange) return { outcome: 'built', reason: prefix + (input.cause === 'manual' ? 'run by hand (schedules run)' : 'scheduled') };
  const last = input.history.lastPublished;
  if (!last) return { outcome: 'built', reason: `${prefix}no published build of this schedule yet` };
  const why: string[] = [];
  if (input.commit !== undefined && last.commit !== undefined && input.commit !== last.commit) why.push(`git commit changed ${last.commit} -> ${input.commit}`);
  if (last.bases === undefined) why.push(`the bases build ${last.id} used are not recorded`);
  else why.push(...input.changes);
  if (why.length > 0) return { outcome: 'built', reason: prefix + why.join('; ') };
  const images = new Set(input.bases.map((b) => b.ref)).size;
  const platforms = new Set(input.bases.map((b) => b.platform)).size;
  return { outcome: 'unchanged', reason: `${prefix}bases unchanged since build ${last.id} (${images} image${images === 1 ? '' : 's'} on ${platforms} platform${platforms === 1 ? '' : 's'})${input.commit ? ` and commit ${input.commit}` : ''}` };
}
