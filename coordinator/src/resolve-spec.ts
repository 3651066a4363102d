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
  return async (spec, given) => {
    const credentials = await registryCredentials(deps.held, spec.tag, given);
    return {
      ...spec,
      credentials,
      pullCredentials: await pullCredentials(deps, spec, credentials),
      crossCompile: await deps.crossCompile(spec.contextDigest, spec.dockerfile),
    };
  };
}

/**
 * Credentials for the tag's registry, for this build only: those the operator forwarded
 * (`archfarm build --forward-credentials`), else those the coordinator holds: an admin's
 * `archfarm registry login` for that registry, else (only with --use-host-docker-config or
 * --registry-auth-file) its Docker config. Any builder's build may push with a stored login:
 * that is what it is for, the organisation's account for the farm, which only admins set.
 * Agents never get these as such where the registry speaks token auth (./job-spec).
 */
async function registryCredentials(held: HeldCredentials, tag: ImageRef, given: RegistryAuth | undefined): Promise<RegistryCredentials | undefined> {
  if (given && given.registry === tag.registry && given.username) return { username: given.username, password: given.password };
  return held.lookup(tag.registry);
}

/**
 * What the coordinator holds for the registries of the Dockerfile's FROM images (a private
 * base image), and the tag's own credentials when a FROM image is in the tag's registry: a
 * push token covers only the tag's repository, so pulling a base from a sibling one needs them.
 */
async function pullCredentials(deps: SpecResolverDeps, spec: BuildSpec, tagCredentials: RegistryCredentials | undefined): Promise<Map<string, RegistryCredentials>> {
  const dockerfile = await deps.contexts.readFile(spec.contextDigest, spec.dockerfile);
  if (!dockerfile) return new Map();
  const registries = fromRegistries(dockerfile.toString('utf8'), spec.buildArgs);
  const held = await deps.held.forPulling(registries, spec.tag.registry);
  if (tagCredentials && registries.includes(spec.tag.registry)) held.set(spec.tag.registry, tagCredentials);
  return held;
}
