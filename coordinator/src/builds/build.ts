import type { ImageRef, Platform, RegistryCredentials } from '@archfarm/common';
import type { BuildEvent, ErrorInfo, ModeName } from '@archfarm/proto';
import type { EmulationPolicy } from '../scheduling/placement';

export type JobStateName = 'queued' | 'assigned' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BuildStateName = 'running' | 'publishing' | 'published' | 'failed' | 'cancelled';

/** A build request after validation: typed values only. */
export interface BuildSpec {
  platforms: Platform[];
  tag: ImageRef;
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
}

export interface Build {
  id: string;
  spec: BuildSpec;
  state: BuildStateName;
  jobs: Job[];
  /** Every event so far, replayed to each new watcher. */
  events: BuildEvent[];
  createdAt: number;
  digest?: string;
  error?: ErrorInfo;
  failedPlatform?: string;
  finishedAt?: number;
  /** The operator token that submitted it (in memory only: for the pending-builds cap). */
  owner?: string;
  /** With allowPartial: platforms left out of the published index. */
  leftOut?: Array<{ platform: string; error: ErrorInfo | undefined }>;
}

export const TERMINAL_JOB_STATES: ReadonlySet<JobStateName> = new Set(['succeeded', 'failed', 'cancelled']);
export const TERMINAL_BUILD_STATES: ReadonlySet<BuildStateName> = new Set(['published', 'failed', 'cancelled']);
