import { InvalidInputError } from '@archfarm/common';
import type { GitSourceRecord } from './store-schedules';
import type { AgentRecord, AnnotationRecord, AttemptPatch, AttemptRecord, BuildPatch, BuildRecord, BuildSpecRecord, EmulationPolicy, JobPatch, JobRecord } from './store';

/*
 * Rules every Store implementation shares, so the in-memory one behaves like SQLite:
 * which fields a patch may touch and which of them may be cleared.
 */

export type Presence = 'required' | 'optional';

/** Patchable build fields; `satisfies` makes the compiler flag a field added to BuildPatch but not here. */
export const BUILD_FIELDS = {
  state: 'required',
  createdAt: 'required',
  finishedAt: 'optional',
  digest: 'optional',
  indexMediaType: 'optional',
  indexSize: 'optional',
  error: 'optional',
  failedPlatform: 'optional',
} as const satisfies Record<keyof BuildPatch, Presence>;

export const JOB_FIELDS = {
  state: 'required',
  attempt: 'required',
  agent: 'optional',
  mode: 'optional',
  digest: 'optional',
  error: 'optional',
  queuedAt: 'required',
  failedOn: 'required',
  notBefore: 'optional',
} as const satisfies Record<keyof JobPatch, Presence>;

export const ATTEMPT_FIELDS = {
  endedAt: 'optional',
  outcome: 'required',
  error: 'optional',
  digest: 'optional',
  // Clearing it means 0 bytes.
  logBytes: 'optional',
  bases: 'optional',
} as const satisfies Record<keyof AttemptPatch, Presence>;

/**
 * A copy of `record` with `patch` applied (see the patch rules in ./store). Keys outside
 * `fields` are ignored, so a caller may pass a wider object without rewriting ids.
 */
export function applyPatch<T extends object>(record: T, patch: object, fields: Readonly<Record<string, Presence>>, what: string): T {
  const out: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) {
    const presence = fields[key];
    if (presence === undefined) continue;
    if (value !== undefined) out[key] = value;
    else if (presence === 'optional') delete out[key];
    else throw new InvalidInputError(`${what}.${key}`, 'is required and cannot be cleared');
  }
  return out as T;
}

/** Jobs handed to createBuild must belong to that build. */
export function checkJobsOfBuild(build: BuildRecord, jobs: readonly JobRecord[]): void {
  jobs.forEach((job, i) => {
    if (job.buildId !== build.id) throw new InvalidInputError(`jobs[${i}].buildId`, `is ${job.buildId}, not the build's id ${build.id}`);
  });
}

export const EMULATION_POLICIES: readonly EmulationPolicy[] = ['prefer-native', 'deny', 'allow'];

/** Spec fields added after version 2, which older rows lack. */
type LaterSpecFields = 'emulation' | 'requireLabels' | 'tags' | 'labels' | 'annotations' | 'pull' | 'noCache' | 'secretIds';

/** A spec as stored before schema version 3 or 6 (or written by a caller that skipped the types). */
export type LegacyBuildSpec = Omit<BuildSpecRecord, LaterSpecFields> & Partial<Pick<BuildSpecRecord, LaterSpecFields>>;

const ANNOTATION_LEVELS: ReadonlyArray<AnnotationRecord['level']> = ['index', 'manifest', 'manifest-descriptor'];

/**
 * The spec fields a read decodes strictly must be valid on write: a build the store could
 * not load again (after a restart) is refused up front. Absent fields are left to withSpecDefaults.
 */
export function checkSpec(spec: LegacyBuildSpec, field = 'build.spec'): void {
  const { emulation, requireLabels } = spec;
  if (emulation !== undefined && !EMULATION_POLICIES.includes(emulation)) {
    throw new InvalidInputError(`${field}.emulation`, `must be one of ${EMULATION_POLICIES.join(', ')}, got ${JSON.stringify(emulation)}`);
  }
  if (requireLabels !== undefined && !isStringMap(requireLabels)) throw new InvalidInputError(`${field}.requireLabels`, 'must map label names to string values');
  const problem = specProblem(spec);
  if (problem) throw new InvalidInputError(`${field}.${problem.field}`, problem.message);
}

/** The first of the spec fields added since version 6 that is not of its type, or undefined. */
export function specProblem(spec: LegacyBuildSpec): { field: string; message: string } | undefined {
  const { tags, labels, annotations, pull, noCache, secretIds, git, schedule, noProvenance } = spec;
  if (tags !== undefined && !isStringArray(tags)) return { field: 'tags', message: 'must be a list of image references' };
  if (tags !== undefined && tags[0] !== spec.tag) return { field: 'tags', message: `must start with the tag ${spec.tag}` };
  if (labels !== undefined && !isStringMap(labels)) return { field: 'labels', message: 'must map label names to string values' };
  if (annotations !== undefined && !(Array.isArray(annotations) && annotations.every(isAnnotation))) {
    return { field: 'annotations', message: `must be a list of { level: ${ANNOTATION_LEVELS.join(' | ')}, key, value, platform? }` };
  }
  if (pull !== undefined && typeof pull !== 'boolean') return { field: 'pull', message: 'must be true or false' };
  if (noCache !== undefined && typeof noCache !== 'boolean') return { field: 'noCache', message: 'must be true or false' };
  if (noProvenance !== undefined && typeof noProvenance !== 'boolean') return { field: 'noProvenance', message: 'must be true or false' };
  if (secretIds !== undefined && !isStringArray(secretIds)) return { field: 'secretIds', message: 'must be a list of secret ids' };
  if (git !== undefined && !isGitSource(git, true)) return { field: 'git', message: 'must be { url, ref, subdir, commit } strings, url and commit not empty' };
  if (schedule !== undefined && (typeof schedule !== 'string' || schedule === '')) return { field: 'schedule', message: 'must be the name of a schedule' };
  return undefined;
}

/** A git source (./store-schedules GitSourceRecord); `withCommit`: with the resolved commit, as a build's spec has it. */
export function isGitSource(value: unknown, withCommit: boolean): value is GitSourceRecord {
  const g = value as Partial<GitSourceRecord & { commit: string }> | null;
  if (typeof g !== 'object' || g === null || Array.isArray(g)) return false;
  if (typeof g.url !== 'string' || g.url === '' || typeof g.ref !== 'string' || typeof g.subdir !== 'string') return false;
  return !withCommit || (typeof g.commit === 'string' && g.commit !== '');
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isAnnotation(value: unknown): value is AnnotationRecord {
  const a = value as Partial<AnnotationRecord> | null;
  return (
    typeof a === 'object' && a !== null && ANNOTATION_LEVELS.includes(a.level!) && typeof a.key === 'string' && typeof a.value === 'string' && (a.platform === undefined || typeof a.platform === 'string')
  );
}

/**
 * The spec with every field set: a field it lacks (stored before the field existed) gets its
 * default. `git` and `schedule` have none: absent (not `undefined`) when the spec lacks them,
 * so a MemoryStore read equals a SqliteStore read of the JSON.
 */
export function withSpecDefaults(spec: LegacyBuildSpec): BuildSpecRecord {
  const { git, schedule, ...rest } = spec;
  return {
    ...rest,
    emulation: spec.emulation ?? 'prefer-native',
    requireLabels: spec.requireLabels ?? {},
    tags: spec.tags ?? [spec.tag],
    labels: spec.labels ?? {},
    annotations: spec.annotations ?? [],
    pull: spec.pull ?? false,
    noCache: spec.noCache ?? false,
    secretIds: spec.secretIds ?? [],
    ...(git === undefined ? {} : { git }),
    ...(schedule === undefined ? {} : { schedule }),
  };
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

export function checkLimit(limit: number): void {
  checkCount('limit', limit);
}

/** A log size must be a byte count; SQLite's STRICT columns would refuse 1.5, the memory store checks it here. */
export function checkLogBytes(bytes: number | undefined, field = 'logBytes'): void {
  if (bytes !== undefined) checkCount(field, bytes);
}

export function checkAgent(agent: AgentRecord): void {
  checkCount('agent.slots', agent.slots);
}

/** Log bytes are absent when 0, in every store: a record without a log reads back unchanged. */
export function normaliseAttempt(attempt: AttemptRecord): AttemptRecord {
  if (attempt.logBytes !== 0) return attempt;
  const { logBytes: _zero, ...rest } = attempt;
  return rest;
}

/** A count or a time in ms: a whole number >= 0 (STRICT INTEGER columns refuse the rest). */
export function checkCount(field: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(field, `must be a whole number >= 0, got ${n}`);
}
