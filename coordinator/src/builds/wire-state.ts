import { BuildState, JobState } from '@archfarm/proto';
import type { BuildStateName, JobStateName } from './build';

const JOB: Record<JobStateName, JobState> = {
  queued: JobState.JOB_STATE_QUEUED,
  assigned: JobState.JOB_STATE_ASSIGNED,
  running: JobState.JOB_STATE_RUNNING,
  succeeded: JobState.JOB_STATE_SUCCEEDED,
  failed: JobState.JOB_STATE_FAILED,
  cancelled: JobState.JOB_STATE_CANCELLED,
};

const BUILD: Record<BuildStateName, BuildState> = {
  running: BuildState.BUILD_STATE_RUNNING,
  publishing: BuildState.BUILD_STATE_PUBLISHING,
  published: BuildState.BUILD_STATE_PUBLISHED,
  failed: BuildState.BUILD_STATE_FAILED,
  cancelled: BuildState.BUILD_STATE_CANCELLED,
};

export const jobStateToWire = (s: JobStateName): JobState => JOB[s];
export const buildStateToWire = (s: BuildStateName): BuildState => BUILD[s];

/** A wire build state as the store's name; undefined for UNSPECIFIED or a value this coordinator does not know. */
export const buildStateFromWire = (s: BuildState): BuildStateName | undefined =>
  (Object.keys(BUILD) as BuildStateName[]).find((name) => BUILD[name] === s);
