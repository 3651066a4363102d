import type { ImageRef, RegistryCredentials } from '@archfarm/common';
import type { RegistryAuth } from '@archfarm/proto';
import { fromRegistries } from './base-images';
import type { BuildSpec } from './builds/build';
import type { ResolveSpec } from './builds/build-manager';
import type { ContextStore } from './context-store';
import type { HeldCredentials } from './held-credentials';

export interface SpecResolverDeps {
  contexts: ContextStore;
  held: HeldCredentials;
  /** Whether the Dockerfile's heavy stages run on $BUILDPLATFORM (./cross-compile). */
  crossCompile: (contextDigest: string, dockerfile: string) => Promise<boolean>;
}

/**
 * The one step that completes a validated spec, at submit and again at restore (see
 * ResolveSpec): what is derived or held in memory only is worked out here, never stored.
 */
export function specResolver(deps: SpecResolverDeps): ResolveSpec {
  return async (spec, given) => ({
    ...spec,
    credentials: await registryCredentials(deps.held, spec.tag, given),
    pullCredentials: await pullCredentials(deps, spec),
    crossCompile: await deps.crossCompile(spec.contextDigest, spec.dockerfile),
  });
}

/**
 * Credentials for the tag's registry, for this build only: the operator's own (from their
 * Docker config, sent with the request), else those the coordinator holds.
 */
async function registryCredentials(held: HeldCredentials, tag: ImageRef, given: RegistryAuth | undefined): Promise<RegistryCredentials | undefined> {
  if (given && given.registry === tag.registry && given.username) return { username: given.username, password: given.password };
  return held.lookup(tag.registry);
}

/** What the coordinator holds for the registries of the Dockerfile's FROM images (a private base image). */
async function pullCredentials(deps: SpecResolverDeps, spec: BuildSpec): Promise<Map<string, RegistryCredentials>> {
  const dockerfile = await deps.contexts.readFile(spec.contextDigest, spec.dockerfile);
  if (!dockerfile) return new Map();
  return deps.held.forPulling(fromRegistries(dockerfile.toString('utf8'), spec.buildArgs), spec.tag.registry);
}
