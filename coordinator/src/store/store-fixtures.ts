import { createHash } from 'node:crypto';
import type { LegacyBuildSpec } from './record-rules';
import type { AgentRecord, AttemptRecord, BuildRecord, BuildSpecRecord, BuildState, JobRecord, Store } from './store';
import type { ScheduleRecord, ScheduleTickRecord } from './store-schedules';
import type { TokenRecord } from './store-security';

/* Records for the store tests (not exported from the package). */

/** Runs one contract test against a fresh store, closing it afterwards. */
export type WithStore = (title: string, fn: (store: Store) => Promise<void>) => void;

export function sampleBuild(id: string, createdAt = 1_000, state: BuildState = 'running'): BuildRecord {
  return {
    id,
    spec: {
      platforms: ['linux/amd64', 'linux/arm/v7'],
      tag: 'registry.local:5000/app:1.0',
      contextDigest: 'sha256:' + 'c'.repeat(64),
      dockerfile: 'Dockerfile',
      buildArgs: { VERSION: '1.0', EMPTY: '' },
      target: '',
      waitTimeoutSeconds: 600,
      timeoutSeconds: 3600,
      allowPartial: false,
      smokeCommand: ['/app', '--version'],
      // Not the defaults, so that every round trip shows they are stored.
      emulation: 'allow',
      requireLabels: { site: 'lab' },
      tags: ['registry.local:5000/app:1.0', 'registry.local:5000/app:latest'],
      labels: { 'org.opencontainers.image.version': '1.0' },
      annotations: [
        { level: 'index', key: 'org.opencontainers.image.description', value: 'an app' },
        { level: 'manifest-descriptor', key: 'note', value: 'arm', platform: 'linux/arm/v7' },
      ],
      pull: true,
      noCache: true,
      secretIds: ['npmrc'],
    },
    state,
    createdAt,
  };
}

/** The spec as stored before schema version 3, without emulation, requireLabels and the version-6 fields. */
export function specBeforeV3(spec: BuildSpecRecord): LegacyBuildSpec {
  const { emulation: _emulation, requireLabels: _labels, ...rest } = specBeforeV6(spec);
  return rest;
}

/** The spec as stored before schema version 6, without tags, labels, annotations, pull, noCache and secretIds. */
export function specBeforeV6(spec: BuildSpecRecord): LegacyBuildSpec {
  const { tags: _t, labels: _l, annotations: _a, pull: _p, noCache: _n, secretIds: _s, ...rest } = spec;
  return rest;
}

/** What an old spec reads back as: every field it lacks at its default. */
export function defaultedSpec(spec: BuildSpecRecord, since: 3 | 6 = 3): BuildSpecRecord {
  const v6 = { tags: [spec.tag], labels: {}, annotations: [], pull: false, noCache: false, secretIds: [] };
  return since === 3 ? { ...spec, emulation: 'prefer-native', requireLabels: {}, ...v6 } : { ...spec, ...v6 };
}

export function sampleJobs(build: BuildRecord): JobRecord[] {
  return build.spec.platforms.map((platform, index) => ({
    id: `${build.id}-${index}`,
    buildId: build.id,
    index,
    platform,
    state: 'queued',
    attempt: 0,
    queuedAt: build.createdAt,
    failedOn: [],
  }));
}

export function sampleAttempt(jobId: string, attempt: number, leaseId: number): AttemptRecord {
  return { jobId, attempt, leaseId, agent: 'pi-1', mode: 'native', startedAt: 2_000 + attempt, outcome: 'running' };
}

export function sampleAgent(name: string, seen = 1_000, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    name,
    version: '0.1.0',
    nodeVersion: 'v20.11.0',
    engine: 'docker 27.1',
    platforms: [
      { platform: 'linux/arm64', mode: 'native' },
      { platform: 'linux/amd64', mode: 'emulated' },
    ],
    slots: 2,
    labels: { site: 'lab', disk: 'ssd' },
    firstSeen: seen,
    lastSeen: seen,
    connected: true,
    drained: false,
    ...overrides,
  };
}

/** The secret text of sample token `id`: what an agent would present. */
export function sampleTokenText(id: string): string {
  return `afj_secret-of-${id}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A join token with 3 uses that expires at 10_000, labelled; its hash is sha256 of sampleTokenText(id). */
export function sampleToken(id: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    hash: sha256Hex(sampleTokenText(id)),
    kind: 'join',
    createdAt: 1_000,
    expiresAt: 10_000,
    usesLeft: 3,
    labels: { site: 'lab' },
    description: `token ${id}`,
    ...overrides,
  };
}

/**
 * A schedule of sampleBuild's spec (its own schedule name in it), at 03:00 in Zurich, due at
 * 5_000, with a git source; not the defaults, so a round trip shows every field is stored.
 */
export function sampleSchedule(name: string, overrides: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    name,
    cron: '0 3 * * *',
    timezone: 'Europe/Zurich',
    owner: 'tok-builder',
    spec: { ...sampleBuild('x').spec, contextDigest: '', schedule: name },
    git: { url: 'https://git.local/app.git', ref: 'main', subdir: 'svc' },
    onBaseChange: true,
    paused: false,
    createdAt: 1_000,
    nextDueAt: 5_000,
    ...overrides,
  };
}

/** A built tick of `schedule` with bases of two platforms. */
export function sampleTick(schedule: string, ranAt: number, overrides: Partial<ScheduleTickRecord> = {}): ScheduleTickRecord {
  return {
    schedule,
    dueAt: ranAt - 1,
    ranAt,
    cause: 'scheduled',
    outcome: 'built',
    reason: 'base 127.0.0.1:5000/base/busybox:1 linux/arm64 changed sha256:a -> sha256:b',
    buildId: `build-${ranAt}`,
    commit: 'c'.repeat(40),
    bases: [
      { platform: 'linux/amd64', ref: '127.0.0.1:5000/base/busybox:1', digest: 'sha256:' + 'a'.repeat(64) },
      { platform: 'linux/arm64', ref: '127.0.0.1:5000/base/busybox:1', digest: 'sha256:' + 'b'.repeat(64) },
    ],
    ...overrides,
  };
}

/** sampleBuild submitted by schedule `schedule` (from a git context, at `commit`). */
export function scheduledBuild(id: string, schedule: string, createdAt: number): BuildRecord {
  const build = sampleBuild(id, createdAt);
  return { ...build, spec: { ...build.spec, schedule, git: { url: 'https://git.local/app.git', ref: 'main', subdir: 'svc', commit: 'c'.repeat(40) } } };
}
