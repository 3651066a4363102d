import { InvalidInputError } from '@archfarm/common';
import { checkCount, checkSpec, isGitSource, withSpecDefaults, type Presence } from './record-rules';
import type { GitSourceRecord, PlatformBaseRecord, SchedulePatch, ScheduleRecord, ScheduleTickRecord, TickCause, TickOutcome } from './store-schedules';

/* Rules both stores share for schedules and their ticks (see ./record-rules). */

export const TICK_CAUSES: readonly TickCause[] = ['scheduled', 'missed', 'manual'];
export const TICK_OUTCOMES: readonly TickOutcome[] = ['built', 'skipped', 'unchanged', 'failed'];

export const SCHEDULE_FIELDS = {
  paused: 'required',
  nextDueAt: 'optional',
} as const satisfies Record<keyof SchedulePatch, Presence>;

/** A schedule the store could not read back is refused up front (InvalidInputError naming the field). */
export function checkSchedule(s: ScheduleRecord): void {
  checkName('schedule.name', s.name);
  checkName('schedule.cron', s.cron);
  checkName('schedule.timezone', s.timezone);
  if (typeof s.owner !== 'string') throw new InvalidInputError('schedule.owner', 'must be a string');
  checkSpec(s.spec, 'schedule.spec');
  if (s.git !== undefined && !isGitSource(s.git, false)) throw new InvalidInputError('schedule.git', 'must be { url, ref, subdir } strings, url not empty');
  checkBoolean('schedule.onBaseChange', s.onBaseChange);
  checkBoolean('schedule.paused', s.paused);
  checkCount('schedule.createdAt', s.createdAt);
  if (s.nextDueAt !== undefined) checkCount('schedule.nextDueAt', s.nextDueAt);
}

/** Only the fields present are checked: applyPatch refuses clearing `paused`. */
export function checkSchedulePatch(patch: SchedulePatch): void {
  if (patch.paused !== undefined) checkBoolean('schedule.paused', patch.paused);
  if (patch.nextDueAt !== undefined) checkCount('schedule.nextDueAt', patch.nextDueAt);
}

export function checkTick(t: ScheduleTickRecord): void {
  checkName('tick.schedule', t.schedule);
  checkCount('tick.dueAt', t.dueAt);
  checkCount('tick.ranAt', t.ranAt);
  if (!TICK_CAUSES.includes(t.cause)) throw new InvalidInputError('tick.cause', `must be one of ${TICK_CAUSES.join(', ')}, got ${JSON.stringify(t.cause)}`);
  if (!TICK_OUTCOMES.includes(t.outcome)) throw new InvalidInputError('tick.outcome', `must be one of ${TICK_OUTCOMES.join(', ')}, got ${JSON.stringify(t.outcome)}`);
  if (typeof t.reason !== 'string') throw new InvalidInputError('tick.reason', 'must be a string');
  if (t.buildId !== undefined) checkName('tick.buildId', t.buildId);
  if (t.commit !== undefined) checkName('tick.commit', t.commit);
  if (!isBaseList(t.bases)) throw new InvalidInputError('tick.bases', 'must be a list of { platform, ref, digest } strings');
}

export function isBaseList(value: unknown): value is PlatformBaseRecord[] {
  return Array.isArray(value) && value.every((b: Partial<PlatformBaseRecord> | null) => typeof b === 'object' && b !== null && typeof b.platform === 'string' && typeof b.ref === 'string' && typeof b.digest === 'string');
}

/**
 * The schedule as a store keeps it: ScheduleRecord's fields only, optional ones absent rather
 * than `undefined`, the spec with its defaults, so a MemoryStore read equals a SqliteStore read. A copy.
 */
export function normaliseSchedule(s: ScheduleRecord): ScheduleRecord {
  const { name, cron, timezone, owner, spec, git, onBaseChange, paused, createdAt, nextDueAt } = s;
  return {
    name,
    cron,
    timezone,
    owner,
    spec: withSpecDefaults(structuredClone(spec)),
    ...(git === undefined ? {} : { git: gitSource(git) }),
    onBaseChange,
    paused,
    createdAt,
    ...(nextDueAt === undefined ? {} : { nextDueAt }),
  };
}

/** The tick as a store keeps it (see normaliseSchedule). A copy. */
export function normaliseTick(t: ScheduleTickRecord): ScheduleTickRecord {
  const { schedule, dueAt, ranAt, cause, outcome, reason, buildId, commit, bases } = t;
  return {
    schedule,
    dueAt,
    ranAt,
    cause,
    outcome,
    reason,
    ...(buildId === undefined ? {} : { buildId }),
    ...(commit === undefined ? {} : { commit }),
    bases: bases.map(({ platform, ref, digest }) => ({ platform, ref, digest })),
  };
}

/** A schedule's git source has no commit: each tick resolves the ref afresh. */
export function gitSource(g: GitSourceRecord): GitSourceRecord {
  return { url: g.url, ref: g.ref, subdir: g.subdir };
}

function checkName(field: string, value: string): void {
  if (typeof value !== 'string' || value === '') throw new InvalidInputError(field, 'must be a non-empty string');
}

function checkBoolean(field: string, value: boolean): void {
  if (typeof value !== 'boolean') throw new InvalidInputError(field, 'must be true or false');
}
