import { InvalidInputError, isDigest, MediaType, sha256Digest, type Descriptor, type ImageRef, type Logger, type Platform, type RegistryClient } from '@archfarm/common';
import { PublishStoppedError } from './errors';
import { buildImageIndex } from './image-index';
import { resolvePlatformImage } from './resolve-platform-image';

/** What {@link publishIndex} needs. */
export interface PublishIndexOptions {
  /** A client of target.registry. */
  client: RegistryClient;
  /** Where the index goes: must have a tag. Images are read from the same repository. */
  target: ImageRef;
  /** More tags of the same repository to write the same index under, after target's own. */
  moreTags?: readonly string[];
  /** One pushed image per platform, in the order the index lists them, with its descriptor's annotations. */
  images: ReadonlyArray<{ platform: Platform; digest: string; annotations?: Readonly<Record<string, string>> }>;
  /** The index's own annotations. */
  annotations?: Readonly<Record<string, string>>;
  /**
   * "digest tag" of each write already done by an earlier try of this publish; filled in as
   * tags are written, so a retry after a failure part-way writes each tag once.
   */
  written?: Set<string>;
  /** Aborted by a cancel: checked before the first index PUT (after it, the publish finishes). */
  stop?: AbortSignal;
  /**
   * Pushes the farm's attestation manifests for the checked platform images (their manifest
   * digests, in `images` order) and returns, per image, the index entries to list after every
   * platform manifest. Absent: no provenance of the farm's own (--provenance=false).
   */
  attest?: (images: ReadonlyArray<{ platform: Platform; digest: string }>) => Promise<ReadonlyArray<readonly Descriptor[]>>;
  logger?: Logger;
}

/** What was published: the index's descriptor, the tags, and per platform the manifest it points at. */
export interface PublishIndexResult {
  /** sha256 of exactly the bytes PUT under every tag. */
  digest: string;
  mediaType: string;
  size: number;
  tags: string[];
  manifests: Array<{ platform: Platform; digest: string }>;
}

/**
 * Checks every platform's pushed image (it exists; its config is for that platform) and
 * then writes one OCI image index under each tag, one PUT per tag, so no tag moves before
 * all platforms are there. Throws before writing anything otherwise.
 */
export async function publishIndex(opts: PublishIndexOptions): Promise<PublishIndexResult> {
  const { client, target, images, logger } = opts;
  const tags = checkRequest(opts);
  const source = { client, repository: target.repository, logger };
  const resolved = await Promise.all(images.map((image) => resolvePlatformImage(source, image.platform, image.digest)));
  const own = opts.attest ? await opts.attest(resolved.map((e) => ({ platform: e.platform, digest: e.manifest.digest }))) : [];
  // The farm's statement first, then what the agent's engine attached to the same image.
  const entries = resolved.map((entry, i) => ({ ...entry, annotations: images[i]!.annotations, attestations: [...(own[i] ?? []), ...(entry.attestations ?? [])] }));
  const bytes = buildImageIndex(entries, opts.annotations);
  const digest = sha256Digest(bytes);
  const written = opts.written ?? new Set<string>();
  // The last moment a cancel can win: once one tag moved, the others follow it.
  if (opts.stop?.aborted && written.size === 0) throw new PublishStoppedError(target.toString());
  for (const tag of tags) {
    if (written.has(`${digest} ${tag}`)) continue;
    await client.putManifest(target.repository, tag, MediaType.OciIndex, bytes);
    written.add(`${digest} ${tag}`);
  }
  const attestations = entries.reduce((n, e) => n + e.attestations.length, 0);
  logger?.info({ target: target.name, tags, digest, platforms: entries.map((e) => e.platform.toString()), attestations }, 'published image index');
  return { digest, mediaType: MediaType.OciIndex, size: bytes.length, tags, manifests: entries.map((e) => ({ platform: e.platform, digest: e.manifest.digest })) };
}

/** Refuses requests that could not give a sound index; returns the tags to write, target's first. */
function checkRequest({ client, target, images, moreTags = [] }: PublishIndexOptions): string[] {
  if (!target.tag) throw new InvalidInputError('tag', `${target.toString()} has no tag to publish the index under`);
  if (target.digest) throw new InvalidInputError('tag', `${target.toString()} names a digest; publish under a tag only`);
  if (client.registry !== target.registry) {
    throw new InvalidInputError('tag', `the registry client is for ${client.registry}, not ${target.registry}`);
  }
  if (images.length === 0) throw new InvalidInputError('platform', 'no platform images to publish');
  const seen = new Set<string>();
  for (const { platform, digest } of images) {
    if (!isDigest(digest)) throw new InvalidInputError('digest', `the ${platform.toString()} image digest "${digest}" is not sha256:<64 hex>`);
    if (seen.has(platform.toString())) throw new InvalidInputError('platform', `${platform.toString()} is listed twice`);
    seen.add(platform.toString());
  }
  return [...new Set([target.tag, ...moreTags])];
}
