import type { Platform } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';
import type { Build, BuildSpec, Job } from '../builds/build';

/*
 * `--cross-check PLATFORM` as jobs. Design (issue 18):
 * - Each cross-checked platform gets a second, "check" job besides its own: same spec, same
 *   platform, run on another agent (./placement), with --no-cache, once the platform's own
 *   job has succeeded. Two agents often share one engine (this repository's tests do, and so
 *   does a host with several agents), and BuildKit would make the two builds one: it hands a
 *   later build the cached layers, and merges identical steps of builds that run at the same
 *   time, even under --no-cache (seen: both wrote one image ID for a `RUN date`). Then the two
 *   digests agree whatever the Dockerfile does. No-cache, and after the first build, is a rule
 *   that holds on any fleet, at the price of running the two builds one after the other;
 *   requiring different engines would rule out the common one-engine host, and agents do not
 *   say which engine they share.
 * - The check job pushes by digest like every job (agents never tag) and is never published:
 *   before the index is written, the two child digests must be equal (./verify).
 * - Check jobs come after the platform jobs, in the order of spec.crossCheck, so a stored
 *   build needs no new column: a job whose index is past the platforms is a check
 *   (checkIndexOf). Their events and logs are told apart by label (jobLabel).
 */

/** The job of a build that is the cross-check of `platform`, as listed after the platform jobs. */
export function checkJobs(buildId: string, spec: Pick<BuildSpec, 'platforms' | 'crossCheck'>, now: number): Job[] {
  return (spec.crossCheck ?? []).map((platform, i) => ({ id: `${buildId}-${spec.platforms.length + i}`, buildId, platform, state: 'queued', attempt: 0, queuedAt: now, failedOn: new Set<string>(), check: true }));
}

/** Whether the stored job at `index` is a check job (see checkJobs): derived, never stored. */
export function isCheckIndex(spec: { platforms: readonly unknown[] }, index: number): boolean {
  return index >= spec.platforms.length;
}

/** Events, logs and `builds inspect` name a check job so: "linux/arm64 (cross-check)". */
export function jobLabel(job: Pick<Job, 'platform' | 'check'>): string {
  return job.check ? checkLabel(job.platform.toString()) : job.platform.toString();
}

/** jobLabel of a stored job, whose check flag is derived from its index. */
export function recordLabel(spec: { platforms: readonly unknown[] }, job: { index: number; platform: string }): string {
  return isCheckIndex(spec, job.index) ? checkLabel(job.platform) : job.platform;
}

function checkLabel(platform: string): string {
  return `${platform} (cross-check)`;
}

/** The jobs whose images are published: every job but the checks. */
export function platformJobs(build: Pick<Build, 'jobs'>): Job[] {
  return build.jobs.filter((j) => !j.check);
}

/** A cross-checked platform's other job: the check of a platform job, or the reverse; undefined when not cross-checked. */
export function partnerOf(jobs: readonly Job[], job: Pick<Job, 'id' | 'platform' | 'check'>): Job | undefined {
  return jobs.find((j) => j.id !== job.id && j.platform.equals(job.platform) && Boolean(j.check) !== Boolean(job.check));
}

/** Where a job's partner runs or ran: its agent holds (or held, for a success) one of the two builds. */
export interface PartnerPlacement {
  agent: string;
  mode: ModeName;
}

/** What placement must know of a paired job: is it the check, and where is its partner. */
export interface Pairing {
  platform: Platform;
  check: boolean;
  /** undefined until the partner succeeded (see placementOf). */
  partner: PartnerPlacement | undefined;
}

/** The pairing of `job` among `jobs`, or undefined for a platform that is not cross-checked. */
export function pairingOf(jobs: readonly Job[], job: Pick<Job, 'id' | 'platform' | 'check'>): Pairing | undefined {
  const partner = partnerOf(jobs, job);
  if (!partner) return undefined;
  return { platform: job.platform, check: job.check === true, partner: placementOf(partner) };
}

/** Where the platform's own job succeeded; until then its check waits (see the top of this file). */
export function placementOf(job: Job): PartnerPlacement | undefined {
  return job.state === 'succeeded' && job.agent ? { agent: job.agent, mode: job.mode ?? 'native' } : undefined;
}
