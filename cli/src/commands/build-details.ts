import type { AttemptInfo, BuildDetails, PlatformDetails } from '@archfarm/proto';
import { buildStateName, jobStateName, modeName } from '../progress/format';
import { isoTime } from '../table';
import { errorJson, type ErrorJson } from './build-result';
import { gitSourceJson, type GitSourceJson } from './schedules-json';

/** One try of a platform's job in `builds inspect --output json`. */
export interface AttemptJson {
  attempt: number;
  agent: string;
  mode: string;
  /** ISO 8601; null when not known. */
  start: string | null;
  /** ISO 8601; null while the attempt runs. */
  end: string | null;
  /** "running", "succeeded", "failed", "cancelled" or "lost". */
  outcome: string;
  errorKind: string | null;
  error: ErrorJson | null;
  digest: string | null;
  /** Why the scheduler chose this agent and mode; null when it gave no reason. */
  reason: string | null;
}

export interface PlatformDetailsJson {
  platform: string;
  /** "queued", "running", "succeeded", ... */
  state: string;
  /** The pushed platform manifest; null until pushed. */
  digest: string | null;
  error: ErrorJson | null;
  attempts: AttemptJson[];
  /** The FROM images the platform was built from, as its engine resolved them. */
  bases: { ref: string; digest: string }[];
}

/**
 * `archfarm builds inspect --output json`, and each element of `archfarm builds --output json`.
 * Absent values are null rather than "" or 0, so `jq` tests read naturally.
 */
export interface BuildDetailsJson {
  buildId: string;
  /** The first tag; `tags` has every one. */
  tag: string;
  tags: string[];
  /** "running", "publishing", "published", "failed", "cancelled". */
  state: string;
  /** The published index; null unless published. */
  digest: string | null;
  createdAt: string | null;
  finishedAt: string | null;
  error: ErrorJson | null;
  failedPlatform: string | null;
  /** "prefer-native", "deny" or "allow" as submitted; null when not recorded (prefer-native). */
  emulation: string | null;
  /** Only agents with all these labels; {} for any agent. */
  requireLabels: Record<string, string>;
  /** The git context it was built from and the commit the coordinator fetched; null for an uploaded directory. */
  git: GitSourceJson | null;
  /** The schedule that started it; null for a build submitted by hand. */
  schedule: string | null;
  platforms: PlatformDetailsJson[];
}

export function buildDetailsJson(b: BuildDetails): BuildDetailsJson {
  return {
    buildId: b.buildId,
    tag: b.tag,
    // An old coordinator records only `tag`.
    tags: b.tags.length > 0 ? [...b.tags] : [b.tag].filter((t) => t !== ''),
    state: buildStateName(b.state),
    digest: b.digest || null,
    createdAt: isoTime(b.createdMs),
    finishedAt: isoTime(b.finishedMs),
    error: errorJson(b.error),
    failedPlatform: b.failedPlatform || null,
    emulation: b.emulation || null,
    requireLabels: b.requireLabels,
    git: gitSourceJson(b.git),
    schedule: b.schedule || null,
    platforms: b.platforms.map(platformJson),
  };
}

function platformJson(p: PlatformDetails): PlatformDetailsJson {
  return {
    platform: p.platform,
    state: jobStateName(p.state),
    digest: p.digest || null,
    error: errorJson(p.error),
    attempts: p.attempts.map(attemptJson),
    bases: p.bases.map((base) => ({ ref: base.ref, digest: base.digest })),
  };
}

function attemptJson(a: AttemptInfo): AttemptJson {
  return {
    attempt: a.attempt,
    agent: a.agent,
    mode: modeName(a.mode),
    start: isoTime(a.startedMs),
    end: isoTime(a.endedMs),
    outcome: a.outcome,
    errorKind: a.error?.kind || null,
    error: errorJson(a.error),
    digest: a.digest || null,
    reason: a.reason || null,
  };
}
