import { isIndexMediaType, ManifestNotFoundError, type FetchedManifest, type ImageRef, type Index, type Logger, type RegistryCredentials } from '@archfarm/common';
import { BaseImageNotFoundError, BaseImageUnresolvableError, BasePlatformMissingError } from '../errors';
import type { HeldCredentials } from '../held-credentials';
import { describeIndex, selectPlatformEntry } from '../publish/platform-select';
import type { RegistryAccess } from '../registry-access';
import type { PlatformBaseRecord } from '../store';
import { BUILD_PLATFORM, basesToResolve, distinctNeeds, resolveForLabel, type BaseInput, type BaseNeed } from './base-digests';

export interface BaseResolverDeps {
  /** How registries are reached (plain HTTP for loopback and --insecure-registry). */
  registries: Pick<RegistryAccess, 'client'>;
  /** The credentials the coordinator holds for the FROM registries, as builds get them. */
  credentials: Pick<HeldCredentials, 'forPulling'>;
  logger?: Logger;
}

/**
 * Resolves a build's base images in their registries, per platform (./base-digests says
 * which, and for which platform): one manifest GET per distinct image, whatever the number
 * of platforms. An index gives each platform's own manifest digest; a single manifest (or
 * a reference pinned by digest to one) is its own digest for every platform: its config is
 * not read, so a single-platform base used for another platform is not refused here (the
 * build says so). A base pulled for $BUILDPLATFORM gets the tag's own digest.
 */
export class BaseResolver {
  constructor(private readonly deps: BaseResolverDeps) {}

  /**
   * The bases' digests, one record per distinct (image, platform resolved for), in the
   * Dockerfile's order. BaseImageUnresolvableError when a FROM cannot be worked out,
   * BaseImageNotFoundError / BasePlatformMissingError when the registry lacks one; a
   * registry that cannot be reached gives common's RegistryUnavailableError.
   */
  async resolve(input: BaseInput): Promise<PlatformBaseRecord[]> {
    const plan = basesToResolve(input);
    if (plan.unresolved.length > 0) throw new BaseImageUnresolvableError(plan.unresolved);
    const needs = distinctNeeds(plan);
    const byImage = new Map<string, BaseNeed[]>();
    for (const need of needs) byImage.set(need.ref.toString(), [...(byImage.get(need.ref.toString()) ?? []), need]);
    const registries = [...new Set(needs.map((n) => n.ref.registry))];
    // '' as the tag's registry: a schedule's check has no push token, so every FROM registry's own credentials count.
    const held = await this.deps.credentials.forPulling(registries, '');
    const resolved = await Promise.all([...byImage.values()].map((group) => this.resolveImage(group, held.get(group[0]!.ref.registry))));
    const digests = new Map(resolved.flat().map((r) => [`${r.ref} ${r.platform}`, r]));
    return needs.map((need) => digests.get(`${need.ref.toString()} ${resolveForLabel(need)}`)!);
  }

  /** One image's records for each platform it is needed for, from one GET of its manifest. */
  private async resolveImage(needs: readonly BaseNeed[], credentials: RegistryCredentials | undefined): Promise<PlatformBaseRecord[]> {
    const ref = needs[0]!.ref;
    const manifest = await this.fetch(ref, needs, credentials);
    const image = ref.toString();
    return needs.map((need) => {
      const platform = resolveForLabel(need);
      if (need.resolveFor === BUILD_PLATFORM || !isIndexMediaType(manifest.mediaType)) return { platform, ref: image, digest: manifest.digest };
      const entries = (manifest.json as Partial<Index>).manifests ?? [];
      const entry = selectPlatformEntry(entries, need.resolveFor);
      if (!entry) throw new BasePlatformMissingError(image, platform, describeIndex(entries));
      return { platform, ref: image, digest: entry.digest };
    });
  }

  private async fetch(ref: ImageRef, needs: readonly BaseNeed[], credentials: RegistryCredentials | undefined): Promise<FetchedManifest> {
    const client = this.deps.registries.client(ref, credentials);
    try {
      const manifest = await client.getManifest(ref.repository, ref.digest ?? ref.reference);
      this.deps.logger?.debug({ image: ref.toString(), digest: manifest.digest, mediaType: manifest.mediaType }, 'resolved a base image');
      return manifest;
    } catch (err) {
      if (err instanceof ManifestNotFoundError) throw new BaseImageNotFoundError(ref.toString(), needs.map(resolveForLabel), { cause: err });
      throw err;
    }
  }
}
