import { InvalidInputError, isDigest, MediaType, type ImageRef, type Logger, type Platform, type RegistryClient } from '@archfarm/common';
import { buildImageIndex } from './image-index';
import { resolvePlatformImage } from './resolve-platform-image';

/** What {@link publishIndex} needs. */
export interface PublishIndexOptions {
  /** A client of target.registry. */
  client: RegistryClient;
  /** Where the index goes: must have a tag. Images are read from the same repository. */
  target: ImageRef;
  /** One pushed image per platform, in the order the index lists them. */
  images: ReadonlyArray<{ platform: Platform; digest: string }>;
  logger?: Logger;
}

/** What was published: the index's digest and, per platform, the manifest it points at. */
export interface PublishIndexResult {
  /** sha256 of exactly the bytes PUT under the tag. */
  digest: string;
  manifests: Array<{ platform: Platform; digest: string }>;
}

/**
 * Checks every platform's pushed image (it exists; its config is for that platform) and
 * then writes one OCI image index under the target's tag, in a single PUT, so the tag
 * moves only when all platforms are there. Throws before writing anything otherwise.
 */
export async function publishIndex(opts: PublishIndexOptions): Promise<PublishIndexResult> {
  const { client, target, images, logger } = opts;
  const tag = checkRequest(opts);
  const source = { client, repository: target.repository, logger };
  const entries = await Promise.all(images.map((image) => resolvePlatformImage(source, image.platform, image.digest)));
  const bytes = buildImageIndex(entries);
  const digest = await client.putManifest(target.repository, tag, MediaType.OciIndex, bytes);
  logger?.info({ target: target.toString(), digest, platforms: entries.map((e) => e.platform.toString()) }, 'published image index');
  return { digest, manifests: entries.map((e) => ({ platform: e.platform, digest: e.manifest.digest })) };
}

/** Refuses requests that could not give a sound index; returns the tag to write. */
function checkRequest({ client, target, images }: PublishIndexOptions): string {
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
  return target.tag;
}
