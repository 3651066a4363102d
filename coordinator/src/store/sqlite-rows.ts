import type { ErrorInfo } from '@archfarm/proto';
import { StoreDataError } from './errors';
import { EMULATION_POLICIES, isStringMap, specProblem, withSpecDefaults, type LegacyBuildSpec } from './record-rules';
import { MODES, dropNulls, json, oneOf, parse } from './sqlite-decode';
import type { AttemptOutcome, AttemptRecord, BaseImageRecord, BuildRecord, BuildSpecRecord, BuildState, JobRecord, JobState } from './store';

/*
 * Records <-> SQLite rows (agents: ./sqlite-agent-rows). Optional fields are NULL in a row
 * and absent in a record; spec, error and failedOn are JSON text. Reading validates the
 * closed unions, so a row the code does not understand fails loudly instead of flowing on
 * as a wrong type.
 */

export interface BuildRow {
  id: string;
  spec: string;
  state: string;
  created_at: number;
  finished_at: number | null;
  digest: string | null;
  index_media_type: string | null;
  index_size: number | null;
  error: string | null;
  failed_platform: string | null;
  /** spec.schedule, in a column of its own for listBuilds' filter (schema 9). */
  schedule: string | null;
}

export interface JobRow {
  id: string;
  build_id: string;
  idx: number;
  platform: string;
  state: string;
  attempt: number;
  agent: string | null;
  mode: string | null;
  digest: string | null;
  error: string | null;
  queued_at: number;
  failed_on: string;
  not_before: number | null;
}

export interface AttemptRow {
  job_id: string;
  attempt: number;
  lease_id: number;
  agent: string;
  mode: string;
  started_at: number;
  ended_at: number | null;
  outcome: string;
  error: string | null;
  digest: string | null;
  log_path: string | null;
  log_bytes: number;
  reason: string | null;
  bases: string | null;
}

const BUILD_STATES: readonly BuildState[] = ['running', 'publishing', 'published', 'failed', 'cancelled'];
const JOB_STATES: readonly JobState[] = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled'];
const OUTCOMES: readonly AttemptOutcome[] = ['running', 'succeeded', 'failed', 'cancelled', 'lost'];

export function buildToRow(b: BuildRecord): BuildRow {
  return {
    id: b.id,
    spec: specJson(b.spec),
    state: b.state,
    created_at: b.createdAt,
    finished_at: b.finishedAt ?? null,
    digest: b.digest ?? null,
    index_media_type: b.indexMediaType ?? null,
    index_size: b.indexSize ?? null,
    error: json(b.error),
    failed_platform: b.failedPlatform ?? null,
    schedule: b.spec.schedule ?? null,
  };
}

export function buildFromRow(r: BuildRow): BuildRecord {
  const what = `build ${r.id}`;
  return dropNulls({
    id: r.id,
    spec: specFromJson(r.spec, what),
    state: oneOf(r.state, BUILD_STATES, what),
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    digest: r.digest,
    indexMediaType: r.index_media_type,
    indexSize: r.index_size,
    error: r.error === null ? null : parse<ErrorInfo>(r.error, what),
    failedPlatform: r.failed_platform,
  });
}

/** A spec as its JSON column holds it (builds and schedules): every field, defaults filled in. */
export function specJson(spec: LegacyBuildSpec): string {
  return JSON.stringify(withSpecDefaults(spec));
}

/** Specs stored before schema version 3 or 6 lack the later fields: they get the defaults. */
export function specFromJson(text: string, what: string): BuildSpecRecord {
  const spec = withSpecDefaults(parse<LegacyBuildSpec>(text, what));
  if (!isStringMap(spec.requireLabels)) throw new StoreDataError(what, 'spec.requireLabels is not a map of strings');
  const problem = specProblem(spec);
  if (problem) throw new StoreDataError(what, `spec.${problem.field} ${problem.message}`);
  return { ...spec, emulation: oneOf(spec.emulation, EMULATION_POLICIES, `${what} spec.emulation`) };
}

export function jobToRow(j: JobRecord): JobRow {
  return {
    id: j.id,
    build_id: j.buildId,
    idx: j.index,
    platform: j.platform,
    state: j.state,
    attempt: j.attempt,
    agent: j.agent ?? null,
    mode: j.mode ?? null,
    digest: j.digest ?? null,
    error: json(j.error),
    queued_at: j.queuedAt,
    failed_on: JSON.stringify(j.failedOn),
    not_before: j.notBefore ?? null,
  };
}

export function jobFromRow(r: JobRow): JobRecord {
  const what = `job ${r.id}`;
  return dropNulls({
    id: r.id,
    buildId: r.build_id,
    index: r.idx,
    platform: r.platform,
    state: oneOf(r.state, JOB_STATES, what),
    attempt: r.attempt,
    agent: r.agent,
    mode: r.mode === null ? null : oneOf(r.mode, MODES, what),
    digest: r.digest,
    error: r.error === null ? null : parse<ErrorInfo>(r.error, what),
    queuedAt: r.queued_at,
    failedOn: parse<string[]>(r.failed_on, what),
    notBefore: r.not_before,
  });
}

export function attemptToRow(a: AttemptRecord): AttemptRow {
  return {
    job_id: a.jobId,
    attempt: a.attempt,
    lease_id: a.leaseId,
    agent: a.agent,
    mode: a.mode,
    started_at: a.startedAt,
    ended_at: a.endedAt ?? null,
    outcome: a.outcome,
    error: json(a.error),
    digest: a.digest ?? null,
    log_path: a.logPath ?? null,
    log_bytes: a.logBytes ?? 0,
    reason: a.reason ?? null,
    bases: json(a.bases),
  };
}

export function attemptFromRow(r: AttemptRow): AttemptRecord {
  const what = `attempt ${r.attempt} of job ${r.job_id}`;
  return dropNulls({
    jobId: r.job_id,
    attempt: r.attempt,
    leaseId: r.lease_id,
    agent: r.agent,
    mode: oneOf(r.mode, MODES, what),
    startedAt: r.started_at,
    endedAt: r.ended_at,
    outcome: oneOf(r.outcome, OUTCOMES, what),
    error: r.error === null ? null : parse<ErrorInfo>(r.error, what),
    digest: r.digest,
    logPath: r.log_path,
    // Absent when 0 (see AttemptRecord.logBytes).
    logBytes: r.log_bytes === 0 ? null : r.log_bytes,
    reason: r.reason,
    bases: r.bases === null ? null : parse<BaseImageRecord[]>(r.bases, what),
  });
}
