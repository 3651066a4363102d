/** Which engine serves a Docker-compatible API: dockerd, or Podman's `podman system service`. */
export type EngineProduct = 'docker' | 'podman';

/** The engine's own name and version, from its `/version` answer. */
export interface EngineIdentity {
  product: EngineProduct;
  version: string;
}

/** The fields of `GET /version` that tell the engines apart. */
export interface VersionAnswer {
  Version?: unknown;
  Components?: ReadonlyArray<{ Name?: unknown; Version?: unknown }> | null;
}

/**
 * Tells dockerd from Podman by what the engine says of itself, not by its socket path:
 * Podman's compatible `/version` lists a component named "Podman Engine" (dockerd's is
 * "Engine"). The version is that component's, else the top-level one.
 */
export function engineIdentity(answer: VersionAnswer): EngineIdentity {
  const components = Array.isArray(answer.Components) ? answer.Components : [];
  const podman = components.find((c) => typeof c.Name === 'string' && /^podman\b/i.test(c.Name));
  const version = podman?.Version ?? answer.Version;
  return { product: podman ? 'podman' : 'docker', version: typeof version === 'string' ? version : 'unknown' };
}

/**
 * The name to give the engine for an image archfarm names locally (a job's or a probe's
 * tag). Podman's compatible API files a name without a registry under docker.io, as if it
 * came from Docker Hub; archfarm qualifies it with `localhost/`, as Podman's own CLI does for
 * local builds. Image ids, names that already have a registry, and anything on dockerd are
 * left as they are.
 */
export function localImageName(ref: string, product: EngineProduct): string {
  if (product !== 'podman' || isImageId(ref)) return ref;
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasRegistry = first === 'localhost' || first.includes('.') || first.includes(':');
  return hasRegistry ? ref : `localhost/${ref}`;
}

function isImageId(ref: string): boolean {
  return /^(sha256:)?[a-f0-9]{12,64}$/.test(ref);
}
