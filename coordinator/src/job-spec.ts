import { errorMessage, type Logger, type RegistryCredentials } from '@archfarm/common';
import type { JobSpec, RegistryAuth, RegistryToken } from '@archfarm/proto';
import type { Build, Job } from './builds/build';
import type { JobAssignment } from './builds/build-manager';
import { manifestAnnotations } from './publish-build';
import type { RegistryAccess } from './registry-access';

/**
 * What an agent gets for one job attempt: the least that lets it push. Where the tag's
 * registry speaks token auth, a bearer token the coordinator fetched for exactly
 * `repository:NAME:push,pull`, and no password (as BuildKit's session FetchToken keeps
 * passwords on the client); where it wants Basic, the credentials for that one registry; none
 * for an open one. Credentials for the registries of FROM images and the build's secrets
 * travel here too, for this job only; the agent keeps them in memory and never logs them.
 */
export async function jobAssignment(registries: RegistryAccess, build: Build, job: Job, logger: Logger): Promise<JobAssignment> {
  const access = await pushAccess(registries, build, logger);
  const spec = jobSpecFor(registries, build, job, access.kind === 'basic' ? build.spec.credentials : undefined);
  return { spec, tokens: access.kind === 'token' ? [access.token] : [] };
}

type PushAccess = { kind: 'none' } | { kind: 'basic' } | { kind: 'token'; token: RegistryToken };

/**
 * Asks the tag's registry how a pusher authenticates. A registry that lets GET /v2/ through
 * anonymously may still want Basic for a push (anonymous-read setups), so it gets the
 * credentials as a Basic one does. Any failure (the registry or its token server down, the
 * credentials refused, a realm refused) leaves the agent with nothing for the tag's registry,
 * never with the password: its push then fails with the registry's own answer, retried when
 * that answer says to (unreachable, 5xx).
 */
async function pushAccess(registries: RegistryAccess, build: Build, logger: Logger): Promise<PushAccess> {
  const { tag, credentials } = build.spec;
  if (!credentials) return { kind: 'none' };
  try {
    const access = await registries.client(tag, credentials).pushAccess(tag.repository);
    if (access.kind !== 'token') return { kind: 'basic' };
    return { kind: 'token', token: { registry: tag.registry, repository: tag.repository, token: access.token, expiresAtMs: access.expiresAt } };
  } catch (err) {
    logger.warn({ buildId: build.id, registry: tag.registry, err: errorMessage(err) }, 'no push token for the job; it is sent without credentials for the registry');
    return { kind: 'none' };
  }
}

/** The job's spec; `pushCredentials` only where the registry wants the credentials themselves. */
export function jobSpecFor(registries: RegistryAccess, build: Build, job: Job, pushCredentials: RegistryCredentials | undefined): JobSpec {
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
    // A check job must not be served the first build's layers from a shared engine's cache (../cross-check/pairs).
    noCache: spec.noCache || job.check === true,
    secrets: (spec.secrets ?? []).map((s) => ({ id: s.id, value: s.value })),
    manifestAnnotations: manifestAnnotations(build, job),
    auths: auths(build, pushCredentials),
  };
}

/**
 * The target registry's credentials first (the agent pushes with them), then those for
 * pulling FROM images; pullCredentials holds the tag's registry only when a FROM image is in
 * it, which the push credentials then cover.
 */
function auths(build: Build, pushCredentials: RegistryCredentials | undefined): RegistryAuth[] {
  const { tag, pullCredentials } = build.spec;
  const out: RegistryAuth[] = pushCredentials ? [{ registry: tag.registry, ...pushCredentials }] : [];
  for (const [registry, c] of pullCredentials ?? []) {
    if (registry !== tag.registry || !pushCredentials) out.push({ registry, username: c.username, password: c.password });
  }
  return out;
}
