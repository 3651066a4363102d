import { InvalidInputError } from '@archfarm/common';
import type { AttemptPatch, BuildPatch, BuildRecord, JobPatch, JobRecord } from './store';

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
  if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidInputError('limit', `must be a whole number >= 0, got ${limit}`);
}
