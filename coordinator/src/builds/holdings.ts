import type { Job } from './build';

/** One attempt an agent holds. */
export interface HeldAttempt {
  jobId: string;
  attempt: number;
}

/**
 * Which agent holds which attempt: an index over the jobs, and nothing else. BuildManager
 * calls {@link update} for every job a transition replaced, so it cannot disagree with the
 * jobs themselves; the fleet's connections carry no job list of their own.
 */
export class Holdings {
  private readonly byAgent = new Map<string, Map<string, number>>();

  update(before: Job | undefined, after: Job | undefined): void {
    if (before && holder(before)) this.byAgent.get(before.agent!)?.delete(before.id);
    if (after && holder(after)) {
      let held = this.byAgent.get(after.agent!);
      if (!held) this.byAgent.set(after.agent!, (held = new Map()));
      held.set(after.id, after.attempt);
    }
    if (before?.agent && this.byAgent.get(before.agent)?.size === 0) this.byAgent.delete(before.agent);
  }

  /** How many attempts `agent` holds: the slots it has in use. */
  count(agent: string): number {
    return this.byAgent.get(agent)?.size ?? 0;
  }

  /** Whether `agent` holds this attempt now: asked for every log chunk, so a lookup, not a list. */
  holds(agent: string, jobId: string, attempt: number): boolean {
    return this.byAgent.get(agent)?.get(jobId) === attempt;
  }

  of(agent: string): HeldAttempt[] {
    return [...(this.byAgent.get(agent) ?? [])].map(([jobId, attempt]) => ({ jobId, attempt }));
  }
}

/** An assigned or running job is held by its attempt's agent. */
function holder(job: Job): boolean {
  return job.agent !== undefined && (job.state === 'assigned' || job.state === 'running');
}
