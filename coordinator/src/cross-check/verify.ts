import type { Logger, RegistryClient } from '@archfarm/common';
import type { Build, Job } from '../builds/build';
import { CrossCheckMismatchError, type CheckedBuild } from './errors';
import { explainMismatch } from './explain';
import { partnerOf } from './pairs';

/** A cross-checked platform's two finished builds: the one to publish and its check. */
export interface CheckedPair {
  platform: string;
  published: CheckedBuild;
  check: CheckedBuild;
}

/**
 * The cross-checked platforms among `jobs` (those about to be published), each with both
 * builds. Pure. The lifecycle publishes only once every job ended and fails the build when a
 * check fails, so each pair has two digests; one missing is a bug, not a build's fault.
 */
export function checkedPairs(build: Pick<Build, 'jobs'>, jobs: readonly Job[]): CheckedPair[] {
  return jobs.flatMap((job) => {
    const check = partnerOf(build.jobs, job);
    if (!check || job.check) return [];
    if (!job.digest || !check.digest) throw new Error(`cross-check of ${job.platform}: publishing without both digests (jobs ${job.id}, ${check.id})`);
    return [{ platform: job.platform.toString(), published: checked(job, job.digest), check: checked(check, check.digest) }];
  });
}

function checked(job: Job, digest: string): CheckedBuild {
  return { agent: job.agent ?? '', mode: job.mode ?? 'native', digest };
}

/** The pairs whose two builds differ. Pure. */
export function disagreeing(pairs: readonly CheckedPair[]): CheckedPair[] {
  return pairs.filter((p) => p.published.digest !== p.check.digest);
}

/**
 * Runs before anything is published: every cross-checked platform's two child digests must
 * be equal. The first that differ fail the publish with CrossCheckMismatchError, naming the
 * first layer and file that differ (read from the registry); no tag is written then.
 */
export async function verifyCrossChecks(client: RegistryClient, build: Build, jobs: readonly Job[], logger: Logger): Promise<void> {
  const pairs = checkedPairs(build, jobs);
  const bad = disagreeing(pairs)[0];
  for (const p of pairs) if (p.published.digest === p.check.digest) logger.info({ buildId: build.id, platform: p.platform, digest: p.published.digest, agents: [p.published.agent, p.check.agent] }, 'cross-check agreed');
  if (!bad) return;
  const where = await explainMismatch(client, build.spec.tag.repository, bad.published, bad.check);
  throw new CrossCheckMismatchError(bad.platform, bad.published, bad.check, where);
}
