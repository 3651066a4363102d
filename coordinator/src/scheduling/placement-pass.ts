import type { HistoryView } from './history';
import { decide } from './placement';
import type { AgentView, Decision, JobView, PlacementSettings } from './placement-types';

/** The connected agents as placement sees them, indexed by platform. */
export interface FleetIndex {
  /** Every connected agent, by name. */
  all(): readonly AgentView[];
  /** The agents serving `platform` (natively or emulated), by name; undefined when none does. */
  serving(platform: string): readonly AgentView[] | undefined;
}

/**
 * One dispatcher pass over the queue. It decides each job as {@link decide} would over the
 * whole fleet, at a cost per placement instead of per queued job times fleet size:
 *
 * - A job is decided over the agents serving its platform: decide filters out the others
 *   first, and looks at the whole fleet only to explain that nobody serves the platform.
 * - `wait` decisions are shared between jobs that placement cannot tell apart (same
 *   platform, policy, labels, repository, failed-on agents, and side of the native wait).
 *   During a pass agents only get busier (the index's busy counts are live, and each
 *   placement adds one), and a job that waits cannot be placed on busier agents, with the
 *   same words; so a shared wait stays right until slots free up, which only a build failed
 *   during the pass does: call {@link slotsFreed} then.
 */
export class PlacementPass {
  private readonly waits = new Map<string, Decision>();

  constructor(
    private readonly fleet: FleetIndex,
    private readonly history: HistoryView,
    private readonly settings: PlacementSettings,
  ) {}

  decide(job: JobView): Decision {
    const key = this.keyOf(job);
    const known = this.waits.get(key);
    if (known) return known;
    const decision = decide(job, this.fleet.serving(job.platform.toString()) ?? this.fleet.all(), this.history, this.settings);
    if (decision.kind === 'wait') this.waits.set(key, decision);
    return decision;
  }

  /** Running jobs were cancelled (a build failed): waiting jobs must be decided again. */
  slotsFreed(): void {
    this.waits.clear();
  }

  /** Every field of the job that decide looks at; waitedMs only against nativeWaitMs. */
  private keyOf(job: JobView): string {
    // Labels keep their order: reasons print them as given.
    const late = job.waitedMs >= this.settings.nativeWaitMs;
    return JSON.stringify([job.platform.toString(), job.emulation, Object.entries(job.requireLabels), job.repository, job.crossCompile, [...job.avoid].sort(), late]);
  }
}
