import { TickCause, TickOutcome, type Schedule, type ScheduleTick } from '@archfarm/proto';
import type { ScheduleRecord, ScheduleTickRecord, TickCause as Cause, TickOutcome as Outcome } from '../store';
import { nextRuns, NEXT_RUNS_SHOWN } from './cron';

const CAUSES: Record<Cause, TickCause> = {
  scheduled: TickCause.TICK_CAUSE_SCHEDULED,
  missed: TickCause.TICK_CAUSE_MISSED,
  manual: TickCause.TICK_CAUSE_MANUAL,
};

const OUTCOMES: Record<Outcome, TickOutcome> = {
  built: TickOutcome.TICK_OUTCOME_BUILT,
  skipped: TickOutcome.TICK_OUTCOME_SKIPPED,
  unchanged: TickOutcome.TICK_OUTCOME_UNCHANGED,
  failed: TickOutcome.TICK_OUTCOME_FAILED,
};

export function tickToWire(t: ScheduleTickRecord): ScheduleTick {
  return {
    schedule: t.schedule,
    dueMs: t.dueAt,
    ranMs: t.ranAt,
    cause: CAUSES[t.cause],
    outcome: OUTCOMES[t.outcome],
    reason: t.reason,
    buildId: t.buildId ?? '',
    commit: t.commit ?? '',
    bases: t.bases.map((b) => ({ ...b })),
  };
}

/** A schedule as the CLI shows it: its build, the next run times (none while paused), recent ticks. */
export function scheduleToWire(s: ScheduleRecord, ticks: ScheduleTickRecord[]): Schedule {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    paused: s.paused,
    onBaseChange: s.onBaseChange,
    owner: s.owner,
    createdMs: s.createdAt,
    tags: s.spec.tags,
    platforms: s.spec.platforms,
    contextDigest: s.spec.contextDigest,
    git: s.git ? { ...s.git, commit: '' } : undefined,
    dockerfile: s.spec.dockerfile,
    nextRunsMs: s.paused ? [] : nextRuns(s, NEXT_RUNS_SHOWN),
    ticks: ticks.map(tickToWire),
  };
}
