import { StoreDataError } from './errors';
import { isGitSource } from './record-rules';
import { TICK_CAUSES, TICK_OUTCOMES, gitSource, isBaseList } from './schedule-rules';
import { dropNulls, json, oneOf, parse } from './sqlite-decode';
import { specFromJson, specJson } from './sqlite-rows';
import type { ScheduleRecord, ScheduleTickRecord } from './store-schedules';

/* Schedules and ticks <-> SQLite rows: spec, git and bases are JSON text, booleans 0/1, absent fields NULL. */

export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  owner: string;
  spec: string;
  git: string | null;
  on_base_change: number;
  paused: number;
  created_at: number;
  next_due_at: number | null;
}

export interface TickRow {
  schedule: string;
  due_at: number;
  ran_at: number;
  cause: string;
  outcome: string;
  reason: string;
  build_id: string | null;
  git_commit: string | null;
  bases: string;
}

export function scheduleToRow(s: ScheduleRecord): ScheduleRow {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    owner: s.owner,
    spec: specJson(s.spec),
    git: json(s.git && gitSource(s.git)),
    on_base_change: s.onBaseChange ? 1 : 0,
    paused: s.paused ? 1 : 0,
    created_at: s.createdAt,
    next_due_at: s.nextDueAt ?? null,
  };
}

export function scheduleFromRow(r: ScheduleRow): ScheduleRecord {
  const what = `schedule ${r.name}`;
  const git = r.git === null ? null : parse<unknown>(r.git, what);
  if (git !== null && !isGitSource(git, false)) throw new StoreDataError(what, 'git is not { url, ref, subdir }');
  return dropNulls({
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    owner: r.owner,
    spec: specFromJson(r.spec, what),
    git: git && gitSource(git),
    onBaseChange: r.on_base_change === 1,
    paused: r.paused === 1,
    createdAt: r.created_at,
    nextDueAt: r.next_due_at,
  });
}

export function tickToRow(t: ScheduleTickRecord): TickRow {
  return {
    schedule: t.schedule,
    due_at: t.dueAt,
    ran_at: t.ranAt,
    cause: t.cause,
    outcome: t.outcome,
    reason: t.reason,
    build_id: t.buildId ?? null,
    git_commit: t.commit ?? null,
    bases: JSON.stringify(t.bases.map(({ platform, ref, digest }) => ({ platform, ref, digest }))),
  };
}

export function tickFromRow(r: TickRow): ScheduleTickRecord {
  const what = `tick of schedule ${r.schedule} due at ${r.due_at}`;
  const bases = parse<unknown>(r.bases, what);
  if (!isBaseList(bases)) throw new StoreDataError(what, 'bases is not a list of { platform, ref, digest }');
  return dropNulls({
    schedule: r.schedule,
    dueAt: r.due_at,
    ranAt: r.ran_at,
    cause: oneOf(r.cause, TICK_CAUSES, what),
    outcome: oneOf(r.outcome, TICK_OUTCOMES, what),
    reason: r.reason,
    buildId: r.build_id,
    commit: r.git_commit,
    bases,
  });
}
