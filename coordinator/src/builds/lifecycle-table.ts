import type { BuildStateName, JobStateName } from './build';

/** What can happen to a build, its jobs and their attempts (./lifecycle applies them). */
export type LifecycleEventType =
  // A job's attempts, as the dispatcher and the agents report them.
  | 'assign'
  | 'started'
  | 'renew'
  | 'succeeded'
  | 'failed'
  | 'lost'
  // The whole build.
  | 'cancel'
  | 'fail'
  | 'secrets-lost'
  | 'published'
  | 'publish-failed'
  | 'publish-stopped';

/** Events that name one job (and, but for `assign`, its attempt). */
export const JOB_EVENTS: ReadonlySet<LifecycleEventType> = new Set(['assign', 'started', 'renew', 'succeeded', 'failed', 'lost']);

/**
 * Which events a build takes in each state. Anything else is refused (IllegalTransitionError).
 * A publishing build takes `cancel`, which only asks the publish to stop before the index PUT.
 */
export const BUILD_TABLE: Readonly<Record<BuildStateName, ReadonlySet<LifecycleEventType>>> = {
  running: new Set(['assign', 'started', 'renew', 'succeeded', 'failed', 'lost', 'cancel', 'fail', 'secrets-lost']),
  publishing: new Set(['cancel', 'published', 'publish-failed', 'publish-stopped']),
  published: new Set(),
  failed: new Set(),
  cancelled: new Set(),
};

/** Which job events a job takes in each state; build-wide events touch only unfinished jobs. */
export const JOB_TABLE: Readonly<Record<JobStateName, ReadonlySet<LifecycleEventType>>> = {
  queued: new Set(['assign']),
  assigned: new Set(['started', 'renew', 'succeeded', 'failed', 'lost']),
  running: new Set(['renew', 'succeeded', 'failed', 'lost']),
  succeeded: new Set(),
  failed: new Set(),
  cancelled: new Set(),
};

