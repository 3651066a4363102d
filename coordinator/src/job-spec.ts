import type { JobSpec, RegistryAuth } from '@archfarm/proto';
import type { Build, Job } from './builds/build';
import { manifestAnnotations } from './publish-build';
import type { RegistryAccess } from './registry-access';

/**
 * What an agent gets for one job. Credentials for the target registry, for the registries
 * of the Dockerfile's FROM images, and the build's secrets travel here, for this job only;
 * the agent keeps them in memory and never logs them.
 */
export function jobSpecFor(registries: RegistryAccess, build: Build, job: Job): JobSpec {
  const spec = build.spec;
  const tag = spec.tag;
  return {
    buildId: build.id,
    platform: job.platform.toString(),
    contextDigest: spec.contextDigest,
    dockerfile: spec.dockerfile,
    buildArgs: spec.buildArgs,
    target: spec.target,
    repository: tag.name,
    insecureRegistry: registries.isInsecure(tag),
    smokeCommand: spec.smokeCommand,
    labels: spec.labels,
    pull: spec.pull,
    noCache: spec.noCache,
    secrets: (spec.secrets ?? []).map((s) => ({ id: s.id, value: s.value })),
    manifestAnnotations: manifestAnnotations(build, job),
    auths: auths(build),
  };
}

/** The target registry's credentials first (the agent pushes with them), then those for pulling FROM images. */
function auths(build: Build): RegistryAuth[] {
  const { tag, credentials, pullCredentials } = build.spec;
  const out: RegistryAuth[] = credentials ? [{ registry: tag.registry, username: credentials.username, password: credentials.password }] : [];
  for (const [registry, c] of pullCredentials ?? []) {
    if (registry !== tag.registry) out.push({ registry, username: c.username, password: c.password });
  }
  return out;
}
