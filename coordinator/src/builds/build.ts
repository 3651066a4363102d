import type { ImageRef, Platform, RegistryCredentials } from '@archfarm/common';
import type { ErrorInfo, ModeName } from '@archfarm/proto';
import type { EmulationPolicy } from '../scheduling/placement';
import type { GitSourceRecord } from '../store/store-schedules';

export type JobStateName = 'queued' | 'assigned' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BuildStateName = 'running' | 'publishing' | 'published' | 'failed' | 'cancelled';

/** Where an `--annotation` goes, as buildx's prefixes say; no prefix means `manifest`. */
export type AnnotationLevelName = 'index' | 'manifest' | 'manifest-descriptor';

/** One `--annotation [LEVEL[PLATFORM]:]K=V`, validated. */
export interface BuildAnnotation {
  level: AnnotationLevelName;
  key: string;
  value: string;
  /** Only this platform's manifest or descriptor; undefined means every platform. */
  platform?: Platform;
}

/** One `--secret` value: in memory only, never stored, logged or shown. */
export interface BuildSecretValue {
  id: string;
  value: Buffer;
}

/** A FROM image as one platform's engine resolved it. */
export interface BaseImageRef {
  ref: string;
  digest: string;
}

/** A build request after validation: typed values only. */
export interface BuildSpec {
  platforms: Platform[];
  /** tags[0]: the tag messages and logs name. */
  tag: ImageRef;
  /** Every tag the index is written under, tag first; one registry and repository (validateTags). */
  tags: ImageRef[];
  contextDigest: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  target: string;
  waitTimeoutSeconds: number;
  /** Whole-build limit; 0 means none. */
  timeoutSeconds: number;
  /** Publish the platforms that succeeded even when others failed. */
  allowPartial: boolean;
  /** Run each image once with this argv before publishing; empty means no smoke test. */
  smokeCommand: string[];
  /** When an emulating agent may take a platform. */
  emulation: EmulationPolicy;
  /** Only agents carrying all these labels. */
  requireLabels: Record<string, string>;
  /** The Dockerfile's heavy stages run on $BUILDPLATFORM: emulation costs little. Derived, not stored. */
  crossCompile: boolean;
  /** Credentials for the tag's registry; in memory only, never logged or stored. */
  credentials?: RegistryCredentials;
  /**
   * Credentials for the registries of the Dockerfile's FROM images that the coordinator holds,
   * by registry host (the tag's registry only when a FROM image is in it): sent to agents for pulling only. In memory only.
   */
  pullCredentials?: Map<string, RegistryCredentials>;
  /** `--label K=V`, into each image config. */
  labels: Record<string, string>;
  annotations: BuildAnnotation[];
  /** `--pull`. */
  pull: boolean;
  /** `--no-cache`. */
  noCache: boolean;
  /** The ids of the build's `--secret`s: stored, so a restarted coordinator knows it lost the values. */
  secretIds: string[];
  /**
   * The `--secret` values, in memory only: undefined on a build restored after a restart
   * (its jobs that still need to run then fail with SecretsNotKeptError).
   */
  secrets?: BuildSecretValue[];
  /** A git context: where contextDigest was fetched from, and the commit it holds. */
  git?: GitSourceRecord & { commit: string };
  /** The schedule that submitted the build. */
  schedule?: string;
  /** `--cross-check`: platforms also built by a check job on another agent (../cross-check/pairs); absent for none. */
  crossCheck?: Platform[];
  /** `--provenance=false`: publish no attestation of the farm's own; absent means provenance is written. */
  noProvenance?: boolean;
}

/** One platform of a build. Each try is an attempt; messages of older attempts are refused. */
export interface Job {
  id: string;
  buildId: string;
  platform: Platform;
  state: JobStateName;
  attempt: number;
  agent?: string;
  mode?: ModeName;
  digest?: string;
  error?: ErrorInfo;
  /** When the job last entered the queue (for --wait-timeout). */
  queuedAt: number;
  waitingReason?: string;
  /** Why the scheduler placed the current attempt where it did. */
  reason?: string;
  /** When the current attempt was assigned (ms). */
  startedAt?: number;
  /** Agents whose attempt failed for infrastructure reasons: tried last next time. */
  failedOn: Set<string>;
  /** The current attempt's lease: renewed by the agent's heartbeats, the job is lost when it runs out. */
  leaseId?: number;
  leaseExpiresAt?: number;
  /** Retry backoff: not dispatched before this time (ms). */
  notBefore?: number;
  /** The FROM images the succeeded attempt was built from (JobFinished.bases). */
  bases?: BaseImageRef[];
  /** A `--cross-check` job: built to compare with its platform's job, never published. */
  check?: true;
}

export interface Build {
  id: string;
  spec: BuildSpec;
  state: BuildStateName;
  jobs: Job[];
  createdAt: number;
  /** The published index: its digest, media type and size. */
  digest?: string;
  indexMediaType?: string;
  indexSize?: number;
  error?: ErrorInfo;
  failedPlatform?: string;
  finishedAt?: number;
  /** The operator token that submitted it (in memory only: for the pending-builds cap). */
  owner?: string;
  /** With allowPartial: platforms left out of the published index. */
  leftOut?: Array<{ platform: string; error: ErrorInfo | undefined }>;
  /** A cancel arrived while publishing: the publish stops if the index is not written yet. */
  stopRequested?: boolean;
}

export const TERMINAL_JOB_STATES: ReadonlySet<JobStateName> = new Set(['succeeded', 'failed', 'cancelled']);
export const TERMINAL_BUILD_STATES: ReadonlySet<BuildStateName> = new Set(['published', 'failed', 'cancelled']);
