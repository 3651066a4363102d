import { BuildMode, BuildState, JobState, type AttemptInfo, type BuildDetails, type PlatformDetails } from '@archfarm/proto';

/** 2025-05-01T10:00:00Z: a fixed clock for the times InspectBuild reports. */
export const T0 = Date.UTC(2025, 4, 1, 10, 0, 0);

/** Builders of InspectBuild answers for tests, with the defaults ts-proto would decode. */
export const details = {
  build(over: Partial<BuildDetails> = {}): BuildDetails {
    return {
      buildId: 'b1',
      tag: '127.0.0.1:5000/hello:1',
      state: BuildState.BUILD_STATE_RUNNING,
      digest: '',
      createdMs: T0,
      finishedMs: 0,
      platforms: [],
      error: undefined,
      failedPlatform: '',
      allowPartial: false,
      timeoutSeconds: 0,
      smokeCommand: [],
      emulation: '',
      requireLabels: {},
      tags: [],
      git: undefined,
      schedule: '',
      contextDigest: '',
      ...over,
    };
  },
  platform(platform: string, over: Partial<PlatformDetails> = {}): PlatformDetails {
    return { platform, state: JobState.JOB_STATE_QUEUED, digest: '', attempts: [], error: undefined, bases: [], ...over };
  },
  attempt(attempt: number, over: Partial<AttemptInfo> = {}): AttemptInfo {
    return {
      attempt,
      agent: '',
      mode: BuildMode.BUILD_MODE_NATIVE,
      startedMs: 0,
      endedMs: 0,
      outcome: 'running',
      error: undefined,
      digest: '',
      leaseId: attempt,
      reason: '',
      ...over,
    };
  },
};
