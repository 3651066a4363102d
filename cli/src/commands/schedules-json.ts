import { TickCause, TickOutcome, type GitSource, type Schedule, type ScheduleTick } from '@archfarm/proto';
import { isoTime } from '../table';

/**
 * A git context in JSON, the shape of `builds inspect --output json`'s `git`: '' for the
 * remote's HEAD and the root; a schedule's `commit` is '' (each tick resolves the ref afresh).
 */
export interface GitSourceJson {
  url: string;
  ref: string;
  subdir: string;
  commit: string;
}

/** One tick of a schedule, as `schedules show|run --output json` print it. */
export interface TickJson {
  schedule: string;
  /** The fire time it stands for, and when it ran (ISO 8601, UTC). */
  dueAt: string | null;
  ranAt: string | null;
  /** "scheduled", "missed" (due while the coordinator was down) or "manual" (`schedules run`). */
  cause: string;
  /** "built", "skipped" (its last build still ran), "unchanged" (--on-base-change) or "failed". */
  outcome: string;
  reason: string | null;
  buildId: string | null;
  commit: string | null;
  bases: { platform: string; ref: string; digest: string }[];
}

/**
 * A schedule in `schedules list|show|add --output json`, in the key style of `builds --output
 * json`: camelCase, times as ISO 8601 (UTC), absent values null.
 */
export interface ScheduleJson {
  name: string;
  cron: string;
  /** IANA name; "UTC" when none was given. */
  timezone: string;
  paused: boolean;
  onBaseChange: boolean;
  /** The id of the token that added it; null in --insecure mode. */
  owner: string | null;
  createdAt: string | null;
  tags: string[];
  platforms: string[];
  /** The uploaded context it builds (pinned while the schedule exists), or null for a git context. */
  contextDigest: string | null;
  git: GitSourceJson | null;
  dockerfile: string;
  /** The next five fire times; [] while paused. */
  nextRuns: string[];
  /** The latest ticks, newest first (`list` has only the newest). */
  ticks: TickJson[];
}

const CAUSES: Readonly<Record<TickCause, string>> = {
  [TickCause.TICK_CAUSE_UNSPECIFIED]: 'unknown',
  [TickCause.TICK_CAUSE_SCHEDULED]: 'scheduled',
  [TickCause.TICK_CAUSE_MISSED]: 'missed',
  [TickCause.TICK_CAUSE_MANUAL]: 'manual',
  [TickCause.UNRECOGNIZED]: 'unknown',
};

const OUTCOMES: Readonly<Record<TickOutcome, string>> = {
  [TickOutcome.TICK_OUTCOME_UNSPECIFIED]: 'unknown',
  [TickOutcome.TICK_OUTCOME_BUILT]: 'built',
  [TickOutcome.TICK_OUTCOME_SKIPPED]: 'skipped',
  [TickOutcome.TICK_OUTCOME_UNCHANGED]: 'unchanged',
  [TickOutcome.TICK_OUTCOME_FAILED]: 'failed',
  [TickOutcome.UNRECOGNIZED]: 'unknown',
};

export function causeName(cause: TickCause): string {
  return CAUSES[cause] ?? 'unknown';
}

export function outcomeName(outcome: TickOutcome): string {
  return OUTCOMES[outcome] ?? 'unknown';
}

/** The time zone a schedule fires in: the coordinator reads an empty one as UTC. */
export function zoneOf(s: Pick<Schedule, 'timezone'>): string {
  return s.timezone || 'UTC';
}

export function gitSourceJson(git: GitSource | undefined): GitSourceJson | null {
  if (!git?.url) return null;
  return { url: git.url, ref: git.ref, subdir: git.subdir, commit: git.commit };
}

export function tickJson(t: ScheduleTick): TickJson {
  return {
    schedule: t.schedule,
    dueAt: isoTime(t.dueMs),
    ranAt: isoTime(t.ranMs),
    cause: causeName(t.cause),
    outcome: outcomeName(t.outcome),
    reason: t.reason || null,
    buildId: t.buildId || null,
    commit: t.commit || null,
    bases: t.bases.map((b) => ({ platform: b.platform, ref: b.ref, digest: b.digest })),
  };
}

export function scheduleJson(s: Schedule): ScheduleJson {
  return {
    name: s.name,
    cron: s.cron,
    timezone: zoneOf(s),
    paused: s.paused,
    onBaseChange: s.onBaseChange,
    owner: s.owner || null,
    createdAt: isoTime(s.createdMs),
    tags: [...s.tags],
    platforms: [...s.platforms],
    contextDigest: s.contextDigest || null,
    git: gitSourceJson(s.git),
    dockerfile: s.dockerfile,
    nextRuns: s.nextRunsMs.map((ms) => isoTime(ms)).filter((t): t is string => t !== null),
    ticks: s.ticks.map(tickJson),
  };
}
