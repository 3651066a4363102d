import type { ImageRef, Platform, RegistryCredentials } from '@archfarm/common';
import type { BuildEvent, ErrorInfo, ModeName } from '@archfarm/proto';

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
  /** Agents whose attempt failed for infrastructure reasons: tried last next time. */
  failedOn: Set<string>;
  /** Bytes of the current attempt's log accepted so far. */
  logCommitted: number;
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
}

export const TERMINAL_JOB_STATES: ReadonlySet<JobStateName> = new Set(['succeeded', 'failed', 'cancelled']);
export const TERMINAL_BUILD_STATES: ReadonlySet<BuildStateName> = new Set(['published', 'failed', 'cancelled']);
