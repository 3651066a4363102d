import { InvalidInputError } from '@archfarm/common';
import type { AgentRecord, AttemptPatch, AttemptRecord, BuildPatch, BuildRecord, JobPatch, JobRecord } from './store';

/*
 * Rules every Store implementation shares, so the in-memory one behaves like SQLite:
 * which fields a patch may touch and which of them may be cleared.
 */

type Presence = 'required' | 'optional';

/** Patchable build fields; `satisfies` makes the compiler flag a field added to BuildPatch but not here. */
export const BUILD_FIELDS = {
  state: 'required',
  createdAt: 'required',
  finishedAt: 'optional',
  digest: 'optional',
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

function checkCount(field: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(field, `must be a whole number >= 0, got ${n}`);
}
