import type { JobSpec } from '@archfarm/proto';
import type { Build, Job } from './builds/build';
import type { RegistryAccess } from './registry-access';

/**
 * What an agent gets for one job. Credentials for the target registry travel here, for
 * this job only; the agent keeps them in memory and never logs them.
 */
export function jobSpecFor(registries: RegistryAccess, build: Build, job: Job): JobSpec {
  const tag = build.spec.tag;
  const credentials = build.spec.credentials;
  return {
    buildId: build.id,
    platform: job.platform.toString(),
    contextDigest: build.spec.contextDigest,
    dockerfile: build.spec.dockerfile,
    buildArgs: build.spec.buildArgs,
    target: build.spec.target,
    repository: tag.name,
    insecureRegistry: registries.isInsecure(tag),
    smokeCommand: build.spec.smokeCommand,
    labels: {},
    pull: false,
    noCache: false,
    secrets: [],
    manifestAnnotations: {},
    auths: credentials ? [{ registry: tag.registry, username: credentials.username, password: credentials.password }] : [],
  };
}
