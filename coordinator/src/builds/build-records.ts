import { ImageRef, Platform } from '@archfarm/common';
import type { AnnotationRecord, AttemptRecord, BuildRecord, BuildSpecRecord, JobRecord } from '../store';
import { isCheckIndex } from '../cross-check/pairs';
import type { Build, BuildAnnotation, BuildSpec, Job } from './build';

function annotationRecord(a: BuildAnnotation): AnnotationRecord {
  return { level: a.level, key: a.key, value: a.value, ...(a.platform ? { platform: a.platform.toString() } : {}) };
}

/** The stored form of a spec: what was asked (secret ids, never credentials or secret values). */
export function specRecord(s: BuildSpec): BuildSpecRecord {
  return {
    platforms: s.platforms.map(String),
    tag: s.tag.toString(),
    contextDigest: s.contextDigest,
    dockerfile: s.dockerfile,
    buildArgs: s.buildArgs,
    target: s.target,
    waitTimeoutSeconds: s.waitTimeoutSeconds,
    timeoutSeconds: s.timeoutSeconds,
    allowPartial: s.allowPartial,
    smokeCommand: s.smokeCommand,
    emulation: s.emulation,
    requireLabels: s.requireLabels,
    tags: s.tags.map(String),
    labels: s.labels,
    annotations: s.annotations.map(annotationRecord),
    pull: s.pull,
    noCache: s.noCache,
    secretIds: s.secretIds,
    ...(s.crossCheck?.length ? { crossCheck: s.crossCheck.map(String) } : {}),
    ...(s.noProvenance ? { noProvenance: true } : {}),
    ...(s.git ? { git: s.git } : {}),
    ...(s.schedule ? { schedule: s.schedule } : {}),
  };
}

/** The stored form of a build. */
export function buildRecord(b: Build): BuildRecord {
  return {
    id: b.id,
    spec: specRecord(b.spec),
    state: b.state,
    createdAt: b.createdAt,
    finishedAt: b.finishedAt,
    digest: b.digest,
    indexMediaType: b.indexMediaType,
    indexSize: b.indexSize,
    error: b.error,
    failedPlatform: b.failedPlatform,
  };
}

export function jobRecord(j: Job, index: number): JobRecord {
  return {
    id: j.id,
    buildId: j.buildId,
    index,
    platform: j.platform.toString(),
    state: j.state,
    attempt: j.attempt,
    agent: j.agent,
    mode: j.mode,
    digest: j.digest,
    error: j.error,
    queuedAt: j.queuedAt,
    failedOn: [...j.failedOn],
    notBefore: j.notBefore,
  };
}

/** A stored spec as a BuildSpec, before ResolveSpec adds what is derived or held in memory. */
export function specFromRecord(spec: BuildSpecRecord): BuildSpec {
  return {
    platforms: spec.platforms.map((p) => Platform.parse(p)),
    tag: ImageRef.parse(spec.tag),
    contextDigest: spec.contextDigest,
    dockerfile: spec.dockerfile,
    buildArgs: spec.buildArgs,
    target: spec.target,
    waitTimeoutSeconds: spec.waitTimeoutSeconds,
    timeoutSeconds: spec.timeoutSeconds,
    allowPartial: spec.allowPartial,
    smokeCommand: spec.smokeCommand,
    emulation: spec.emulation,
    requireLabels: spec.requireLabels,
    // Derived, like the credentials: ResolveSpec works it out (at submit, and again at restore).
    crossCompile: false,
    tags: spec.tags.map((t) => ImageRef.parse(t)),
    labels: spec.labels,
    annotations: spec.annotations.map((a) => ({ level: a.level, key: a.key, value: a.value, ...(a.platform ? { platform: Platform.parse(a.platform) } : {}) })),
    pull: spec.pull,
    noCache: spec.noCache,
    // The values were in memory only: a restored build has none (BuildManager.restore).
    secretIds: spec.secretIds,
    ...(spec.crossCheck ? { crossCheck: spec.crossCheck.map((p) => Platform.parse(p)) } : {}),
    ...(spec.noProvenance ? { noProvenance: true } : {}),
    ...(spec.git ? { git: spec.git } : {}),
    ...(spec.schedule ? { schedule: spec.schedule } : {}),
  };
}

/**
 * A build loaded after a restart. Jobs an agent held keep a fresh lease: the agent has one
 * lease period to reconnect and say it still runs them, else they go back to the queue.
 */
export function buildFromRecords(r: { build: BuildRecord; jobs: JobRecord[]; attempts: AttemptRecord[] }, leaseTtlMs: number, now: number): Build {
  const spec = r.build.spec;
  const build: Build = {
    id: r.build.id,
    spec: specFromRecord(spec),
    state: r.build.state,
    jobs: [],
    createdAt: r.build.createdAt,
    digest: r.build.digest,
    indexMediaType: r.build.indexMediaType,
    indexSize: r.build.indexSize,
    error: r.build.error,
    failedPlatform: r.build.failedPlatform,
  };
  build.jobs = [...r.jobs]
    .sort((a, b) => a.index - b.index)
    .map((j): Job => {
      const held = j.state === 'assigned' || j.state === 'running';
      const current = r.attempts.find((a) => a.jobId === j.id && a.attempt === j.attempt);
      const lease = current?.leaseId;
      return {
        id: j.id,
        buildId: j.buildId,
        platform: Platform.parse(j.platform),
        state: j.state,
        attempt: j.attempt,
        agent: j.agent,
        mode: j.mode,
        digest: j.digest,
        error: j.error,
        queuedAt: j.queuedAt,
        failedOn: new Set(j.failedOn),
        notBefore: j.notBefore,
        leaseId: held ? lease : undefined,
        leaseExpiresAt: held ? now + leaseTtlMs : undefined,
        reason: current?.reason,
        bases: j.state === 'succeeded' ? current?.bases : undefined,
        ...(isCheckIndex(spec, j.index) ? { check: true as const } : {}),
      };
    });
  return build;
}
