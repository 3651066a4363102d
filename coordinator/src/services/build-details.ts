import { modeToWire, type AttemptInfo, type BuildDetails } from '@archfarm/proto';
import { buildStateToWire, jobStateToWire } from '../builds/wire-state';
import { recordLabel } from '../cross-check/pairs';
import type { AttemptRecord, BuildRecord, JobRecord } from '../store';

/** A stored build as `archfarm builds inspect` shows it: per platform, every attempt. */
export function buildDetails(r: { build: BuildRecord; jobs: JobRecord[]; attempts: AttemptRecord[] }): BuildDetails {
  const b = r.build;
  return {
    buildId: b.id,
    tag: b.spec.tag,
    state: buildStateToWire(b.state),
    digest: b.digest ?? '',
    createdMs: b.createdAt,
    finishedMs: b.finishedAt ?? 0,
    error: b.error,
    failedPlatform: b.failedPlatform ?? '',
    allowPartial: b.spec.allowPartial,
    timeoutSeconds: b.spec.timeoutSeconds,
    smokeCommand: b.spec.smokeCommand,
    emulation: b.spec.emulation,
    requireLabels: b.spec.requireLabels,
    tags: b.spec.tags,
    git: b.spec.git,
    schedule: b.spec.schedule ?? '',
    contextDigest: b.spec.contextDigest,
    platforms: [...r.jobs]
      .sort((x, y) => x.index - y.index)
      .map((j) => ({
        platform: recordLabel(b.spec, j),
        state: jobStateToWire(j.state),
        digest: j.digest ?? '',
        error: j.error,
        bases: j.state === 'succeeded' ? (r.attempts.find((a) => a.jobId === j.id && a.attempt === j.attempt)?.bases ?? []) : [],
        attempts: r.attempts.filter((a) => a.jobId === j.id).sort((x, y) => x.attempt - y.attempt).map(attemptInfo),
      })),
  };
}

function attemptInfo(a: AttemptRecord): AttemptInfo {
  return {
    attempt: a.attempt,
    agent: a.agent,
    mode: modeToWire(a.mode),
    startedMs: a.startedAt,
    endedMs: a.endedAt ?? 0,
    outcome: a.outcome,
    error: a.error,
    digest: a.digest ?? '',
    leaseId: a.leaseId,
    reason: a.reason ?? '',
  };
}
