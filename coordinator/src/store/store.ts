import type { ErrorInfo } from '@archfarm/proto';
import type { SecurityStore } from './store-security';
import type { GitSourceRecord, ScheduleStore } from './store-schedules';

/*
 * The coordinator's durable state as plain records: strings, numbers, arrays and plain
 * objects only, so that a networked database can implement `Store` later without class
 * instances crossing the boundary. Times are milliseconds since the epoch.
 */

export type BuildState = 'running' | 'publishing' | 'published' | 'failed' | 'cancelled';

/** Which builds `listBuilds` returns; each field given narrows the list. */
export interface ListBuildsFilter {
  /** Only the builds this schedule started. */
  schedule?: string;
  /** Only builds in one of these states; empty or absent for any. */
  states?: readonly BuildState[];
  /** Only builds created at or after this time, ms since the epoch. */
  createdSince?: number;
}
export type JobState = 'queued' | 'assigned' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type AttemptOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';
export type JobMode = 'native' | 'emulated';
/**
 * When a platform may build emulated: `prefer-native` only when no native agent can take it,
 * `deny` never, `allow` whichever is expected to finish first.
 */
export type EmulationPolicy = 'prefer-native' | 'deny' | 'allow';

/** One `--annotation`; `platform` absent means every platform. */
export interface AnnotationRecord {
  level: 'index' | 'manifest' | 'manifest-descriptor';
  key: string;
  value: string;
  platform?: string;
}

/** A FROM image as one platform's engine resolved it. */
export interface BaseImageRecord {
  ref: string;
  digest: string;
}

/**
 * What a build was asked to do. Registry credentials and secret values are never part of
 * it: they stay in memory. The fields after requireLabels were added with schema version 6
 * in the same JSON column; specs stored before read back with their defaults.
 */
export interface BuildSpecRecord {
  /** Normalised platform strings, e.g. "linux/arm/v7". */
  platforms: string[];
  /** The full image reference to publish, e.g. "registry:5000/app:1.2". */
  tag: string;
  contextDigest: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  target: string;
  waitTimeoutSeconds: number;
  timeoutSeconds: number;
  allowPartial: boolean;
  /** Empty: no smoke test. */
  smokeCommand: string[];
  /** When a platform may build emulated. Specs stored before schema version 3 read back as `prefer-native`. */
  emulation: EmulationPolicy;
  /** Only agents carrying every one of these labels (name -> value). Stored before version 3: `{}`. */
  requireLabels: Record<string, string>;
  /** Every tag to publish under, `tag` first. Stored before version 6: `[tag]`. */
  tags: string[];
  /** Image config labels (--label). Default `{}`. */
  labels: Record<string, string>;
  /** Default `[]`. */
  annotations: AnnotationRecord[];
  /** --pull, --no-cache. Default false. */
  pull: boolean;
  noCache: boolean;
  /** The ids of the build's --secret values (never the values). Default `[]`. */
  secretIds: string[];
  /**
   * A git context (schema 9): where `contextDigest` (the fetched tree, as a tar) came from
   * and the commit. Absent for an uploaded context.
   */
  git?: GitSourceRecord & { commit: string };
  /** The schedule that submitted it (schema 9); absent for a build submitted by hand. */
  schedule?: string;
  /** `--cross-check` platforms; absent for none. Their check jobs follow the platforms' jobs. */
  crossCheck?: string[];
  /** `--provenance=false`: no attestations; absent (provenance written) when not given. */
  noProvenance?: boolean;
}

export interface BuildRecord {
  id: string;
  spec: BuildSpecRecord;
  state: BuildState;
  createdAt: number;
  finishedAt?: number;
  /** The published index digest, media type and size in bytes. */
  digest?: string;
  indexMediaType?: string;
  indexSize?: number;
  error?: ErrorInfo;
  failedPlatform?: string;
}

/** One platform of a build. `attempt` is the current (latest) attempt, 0 before the first. */
export interface JobRecord {
  id: string;
  buildId: string;
  /** Position in the build's platform list. */
  index: number;
  platform: string;
  state: JobState;
  attempt: number;
  agent?: string;
  mode?: JobMode;
  /** The pushed per-platform image digest. */
  digest?: string;
  error?: ErrorInfo;
  /** When the job last entered the queue. */
  queuedAt: number;
  /** Agents whose attempt failed for infrastructure reasons: tried last next time. */
  failedOn: string[];
  /** Retry backoff: not dispatched before this time. */
  notBefore?: number;
}

/** One try of a job on one agent, fenced by its attempt number and lease id. */
export interface AttemptRecord {
  jobId: string;
  attempt: number;
  leaseId: number;
  agent: string;
  mode: JobMode;
  startedAt: number;
  endedAt?: number;
  outcome: AttemptOutcome;
  error?: ErrorInfo;
  digest?: string;
  /**
   * The attempt's log file, relative to the coordinator's data directory
   * (e.g. "logs/<build>/<job>.<attempt>.log"); absent when the attempt has no log.
   */
  logPath?: string;
  /** Bytes of log written so far. Absent means 0: the store returns it only when above 0. */
  logBytes?: number;
  /**
   * Why the scheduler placed the attempt on this agent in this mode, for people to read.
   * Set by startAttempt only; absent on attempts started before schema version 3.
   */
  reason?: string;
  /** The FROM images a succeeded attempt was built from; absent when the agent named none. */
  bases?: BaseImageRecord[];
}

/** One platform an agent builds and how. */
export interface AgentPlatformRecord {
  platform: string;
  mode: JobMode;
}

/** An agent the coordinator has seen, connected or not, keyed by its unique name. */
export interface AgentRecord {
  name: string;
  /** The agent's archfarm version. */
  version: string;
  /** The Node.js it runs on, e.g. "v18.19.0"; empty for agents seen before schema version 5. */
  nodeVersion: string;
  /** The container engine it drives, e.g. "docker 27.1". */
  engine: string;
  platforms: AgentPlatformRecord[];
  slots: number;
  labels: Record<string, string>;
  firstSeen: number;
  lastSeen: number;
  connected: boolean;
  /** Takes no new jobs (set by setAgentDrained); kept across reconnects. */
  drained: boolean;
  /** What its last connection told of its engine and machine, for provenance (schema 10); absent before. */
  machine?: AgentMachineRecord;
}

/** An agent's engine and machine as provenance records them; "" where the agent did not say. */
export interface AgentMachineRecord {
  /** "sha256:<hex>" of the client certificate it connected with; "" without TLS (--insecure). */
  certificateFingerprint: string;
  /** The engine's product ("docker", "podman"). */
  engineName: string;
  engineVersion: string;
  /** The engine's machine's `uname -m`, e.g. "aarch64". */
  cpu: string;
  kernel: string;
}

/*
 * Patches. A key that is present replaces the stored value; a present key whose value is
 * `undefined` clears an optional field (e.g. `{ error: undefined }` on a retry); an absent
 * key leaves the stored value alone. Clearing a required field is refused.
 */
export type BuildPatch = Partial<Omit<BuildRecord, 'id' | 'spec'>>;
export type JobPatch = Partial<Omit<JobRecord, 'id' | 'buildId' | 'index' | 'platform'>>;
export type AttemptPatch = Partial<Pick<AttemptRecord, 'endedAt' | 'outcome' | 'error' | 'digest' | 'logBytes' | 'bases'>>;

/** A build with its jobs (by index) and every attempt of them (by job index, then attempt). */
export interface StoredBuild {
  build: BuildRecord;
  jobs: JobRecord[];
  attempts: AttemptRecord[];
}

/**
 * Durable coordinator state. Every method is one transaction: it happens entirely or not
 * at all. A resolved promise means the change is committed (durable as the implementation
 * documents). Writes take effect in the order they are called, whether or not the caller
 * awaited the ones before: a caller may fire a job's changes one after another and they land
 * in that order. Failures reject with the errors of ./errors: a missing record is
 * `StoreRecordNotFoundError`, a duplicate key is `StoreConflictError`. Tokens, revocations
 * and registry credentials: SecurityStore (./store-security); schedules: ScheduleStore
 * (./store-schedules).
 */
export interface Store extends SecurityStore, ScheduleStore {
  /**
   * Inserts a build and all its jobs together. A spec `emulation` or `requireLabels` that a
   * read could not decode is refused (InvalidInputError) rather than stored.
   */
  createBuild(build: BuildRecord, jobs: JobRecord[]): Promise<void>;
  /**
   * Patches a build and, in the same transaction, any of its jobs: ending a build and
   * cancelling its jobs is one change, never half of it.
   */
  updateBuild(id: string, patch: BuildPatch, jobs?: ReadonlyArray<{ id: string; patch: JobPatch }>): Promise<void>;
  updateJob(id: string, patch: JobPatch): Promise<void>;
  /**
   * Records a new attempt and patches its job (`attempt`, `state`, `agent`...) together.
   * A second attempt with the same job and number, or a reused lease id, is a conflict:
   * two coordinators cannot both start the same attempt. The lease counter is raised to at
   * least `attempt.leaseId`, so a caller may hand out lease ids from a counter of its own
   * that it seeded with nextLeaseId, and nextLeaseId still never reissues a stored one.
   */
  startAttempt(attempt: AttemptRecord, job: JobPatch): Promise<void>;
  /** Ends an attempt and, when given, patches its job in the same transaction. */
  endAttempt(jobId: string, attempt: number, patch: AttemptPatch, job?: JobPatch): Promise<void>;
  /** Records how many log bytes an attempt has so far: one cheap update, for periodic calls. */
  setLogBytes(jobId: string, attempt: number, bytes: number): Promise<void>;
  /** The build with its jobs and attempts, or undefined when there is no such build. */
  getBuild(id: string): Promise<StoredBuild | undefined>;
  /** The newest `limit` builds that match `filter`, newest first (the limit counts matching builds). */
  listBuilds(limit: number, filter?: ListBuildsFilter): Promise<BuildRecord[]>;
  /** Builds still running or publishing, oldest first: what a restarted coordinator resumes. */
  unfinishedBuilds(): Promise<StoredBuild[]>;
  /**
   * Inserts an agent, or updates every field of a known one except `firstSeen` and
   * `drained`, which keep their stored values (a reconnect is not a new agent, nor undrains it).
   */
  upsertAgent(record: AgentRecord): Promise<void>;
  /** Marks a known agent connected or not and sets its `lastSeen`. */
  setAgentConnected(name: string, connected: boolean, lastSeen: number): Promise<void>;
  /** Drains a known agent (no new jobs) or resumes it; nothing else changes. */
  setAgentDrained(name: string, drained: boolean): Promise<void>;
  /** The agent, or undefined when it was never seen. */
  getAgent(name: string): Promise<AgentRecord | undefined>;
  /** Every agent ever seen, by name. */
  listAgents(): Promise<AgentRecord[]>;
  /**
   * At coordinator start nobody is connected to the fresh process: marks every connected
   * agent disconnected, with `lastSeen` = `now` (the old process may have heard from it until then).
   */
  markAllDisconnected(now: number): Promise<void>;
  /** A lease id greater than every one handed out before or stored by startAttempt, by any process, across restarts. */
  nextLeaseId(): Promise<number>;
  /** Releases the store; idempotent. Other calls afterwards reject with `StoreClosedError`. */
  close(): Promise<void>;
}
