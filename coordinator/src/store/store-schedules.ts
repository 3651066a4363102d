import type { BuildSpecRecord } from './store';

/*
 * Scheduled rebuilds (issue 16). Part of Store (./store), with its rules (one transaction per
 * method). The store is the truth about a schedule's timing: `nextDueAt` is the fire time the
 * coordinator waits for, so one that was down past it finds the missed tick at start.
 */

/** buildx's git context: `url#ref:subdir`. */
export interface GitSourceRecord {
  url: string;
  /** Branch, tag or commit; '' means the remote's HEAD. */
  ref: string;
  /** A directory inside the repository; '' is its root. */
  subdir: string;
}

/** One FROM image of one platform, resolved in its registry to that platform's manifest. */
export interface PlatformBaseRecord {
  platform: string;
  ref: string;
  digest: string;
}

export interface ScheduleRecord {
  /** Unique; the name `archfarm schedules` commands take. */
  name: string;
  /** As node-cron reads it: five fields, or six with seconds first. */
  cron: string;
  /** IANA time zone the cron is read in, e.g. "Europe/Zurich"; "UTC" by default. */
  timezone: string;
  /** The operator token id that added it ('' in --insecure mode): builders manage their own. */
  owner: string;
  /**
   * The build each tick submits. `contextDigest` is pinned (never pruned while the schedule
   * exists); with `git` it is '' and each tick fetches the ref afresh.
   */
  spec: BuildSpecRecord;
  git?: GitSourceRecord;
  onBaseChange: boolean;
  paused: boolean;
  createdAt: number;
  /** The next fire time; absent while paused. */
  nextDueAt?: number;
}

export type TickCause = 'scheduled' | 'missed' | 'manual';
export type TickOutcome = 'built' | 'skipped' | 'unchanged' | 'failed';

/** What one tick of a schedule did and why. */
export interface ScheduleTickRecord {
  schedule: string;
  /** The fire time it stands for (for a manual run, when it was asked for). */
  dueAt: number;
  ranAt: number;
  cause: TickCause;
  outcome: TickOutcome;
  /** For people: why it built or did not. */
  reason: string;
  /** The build it submitted (outcome 'built'). */
  buildId?: string;
  /** The commit the git ref resolved to at this tick. */
  commit?: string;
  /** The FROM images per platform as resolved at this tick (--on-base-change); [] otherwise. */
  bases: PlatformBaseRecord[];
}

/**
 * Ticks that built nothing (skipped, unchanged, failed) a schedule keeps, newest first: one
 * firing every 5 s would otherwise add 17,000 rows a day. Ticks that submitted a build are
 * all kept, one per build, as builds are: they hold the bases that build was made from.
 */
export const IDLE_TICKS_KEPT = 1000;

export type SchedulePatch = Partial<Pick<ScheduleRecord, 'paused' | 'nextDueAt'>>;

export interface ScheduleStore {
  /**
   * Stores a new schedule. A duplicate name is a StoreConflictError; a record that breaks
   * ScheduleRecord's rules (an unknown field value) is refused with InvalidInputError.
   */
  createSchedule(record: ScheduleRecord): Promise<void>;
  /** The schedule, or undefined. */
  getSchedule(name: string): Promise<ScheduleRecord | undefined>;
  /** Every schedule, by name. */
  listSchedules(): Promise<ScheduleRecord[]>;
  /**
   * Patches a schedule (a present `nextDueAt: undefined` clears it; `paused` cannot be cleared:
   * InvalidInputError). StoreRecordNotFoundError when there is none.
   */
  updateSchedule(name: string, patch: SchedulePatch): Promise<void>;
  /** Deletes a schedule and its ticks; whether there was one. Its builds stay. */
  deleteSchedule(name: string): Promise<boolean>;
  /**
   * Records a tick and, in the same transaction, patches its schedule (the next due time):
   * a tick is never recorded without its schedule moving on, nor the other way round.
   * StoreRecordNotFoundError when the schedule is gone (removed meanwhile); a tick that breaks
   * ScheduleTickRecord's rules (an unknown cause or outcome) is InvalidInputError. Either way
   * nothing is written.
   */
  recordTick(tick: ScheduleTickRecord, patch: SchedulePatch): Promise<void>;
  /**
   * The schedule's newest `limit` ticks, newest first (by ranAt, then insertion); with
   * `built`, only those that submitted a build. Of the others only the newest IDLE_TICKS_KEPT
   * are kept (recordTick drops older ones in its transaction).
   */
  listTicks(schedule: string, limit: number, filter?: { built?: boolean }): Promise<ScheduleTickRecord[]>;
}
