import { randomBytes } from 'node:crypto';
import { ImageRef, MediaType, Platform, RegistryClient, type Descriptor, type Index, type Manifest } from '@archfarm/common';
import { baseImage } from './context';
import { pushBlob, putJson } from './oci-fixture';

/*
 * The test's own base images for --on-base-change (issue 16): a multi-platform base made of
 * the project's busybox base (scripts/test-base.sh), and a way to push a new image for one
 * platform only, so a check can see exactly one platform's base change. Through the
 * registry's HTTP API (common's RegistryClient), on the real test registry.
 */

/** Layers and configs of the busybox base are about a megabyte; far more means something is wrong. */
const MAX_BLOB_BYTES = 64 * 1024 * 1024;

/** A pushed multi-platform base: its index digest and each platform's manifest digest. */
export interface PushedBase {
  ref: string;
  index: string;
  /** Platform (normal form, e.g. "linux/arm64") -> manifest digest. */
  manifests: Record<string, string>;
}

/**
 * Pushes an index under `ref` (a tag) holding the busybox base's images for `platforms`
 * only, copied blob by blob into ref's repository. Throws when the busybox base lacks one.
 */
export async function pushMultiBase(ref: string, platforms: readonly string[]): Promise<PushedBase> {
  const source = ImageRef.parse(baseImage());
  const target = ImageRef.parse(ref);
  const from = client(source);
  const to = client(target);
  const index = (await from.getManifest(source.repository, source.reference)).json as Index;
  const entries: Descriptor[] = [];
  for (const text of platforms) {
    const entry = entryFor(index, Platform.parse(text), source.toString());
    const manifest = await from.getManifest(source.repository, entry.digest);
    const json = manifest.json as Manifest;
    for (const blob of [json.config, ...json.layers]) {
      await to.uploadBlob(target.repository, blob, await from.getBlob(source.repository, blob.digest, MAX_BLOB_BYTES));
    }
    await to.putManifest(target.repository, entry.digest, manifest.mediaType, manifest.bytes);
    entries.push(entry);
  }
  const pushed = await putIndex(to, target, entries);
  return { ref, index: pushed, manifests: Object.fromEntries(entries.map((e) => [platformOfEntry(e).toString(), e.digest])) };
}

/**
 * Pushes a new image for `platform` only (the old one with a fresh label in its config, so
 * a new config and manifest digest, the same layers) and a new index under the same tag in
 * which only that platform's entry changed. Returns that platform's old and new manifest digests.
 */
export async function replacePlatformBase(ref: string, platform: string): Promise<{ old: string; new: string }> {
  const target = ImageRef.parse(ref);
  const registry = client(target);
  const index = (await registry.getManifest(target.repository, target.reference)).json as Index;
  const wanted = Platform.parse(platform);
  const entry = entryFor(index, wanted, ref);
  const manifest = (await registry.getManifest(target.repository, entry.digest)).json as Manifest;
  const config = JSON.parse((await registry.getBlob(target.repository, manifest.config.digest, MAX_BLOB_BYTES)).toString('utf8')) as { config?: { Labels?: Record<string, string> } };
  const labels = { ...config.config?.Labels, 'org.archfarm.test.replaced': randomBytes(8).toString('hex') };
  const relabelled = { ...config, config: { ...config.config, Labels: labels } };
  const configDesc = await pushBlob(registry, target.repository, manifest.config.mediaType, Buffer.from(JSON.stringify(relabelled)));
  const image = await putJson(registry, target.repository, entry.mediaType, { ...manifest, config: configDesc });
  const entries = index.manifests.map((e) => (e === entry ? { ...e, digest: image.digest, size: image.size } : e));
  await putIndex(registry, target, entries);
  return { old: entry.digest, new: image.digest };
}

function client(ref: ImageRef): RegistryClient {
  return new RegistryClient(ref.registry, { userAgent: 'archfarm-test' });
}

async function putIndex(registry: RegistryClient, ref: ImageRef, manifests: Descriptor[]): Promise<string> {
  const index: Index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  return registry.putManifest(ref.repository, ref.reference, MediaType.OciIndex, Buffer.from(JSON.stringify(index)));
}

function entryFor(index: Index, platform: Platform, name: string): Descriptor {
  const entry = index.manifests.find((e) => e.platform && platformOfEntry(e).equals(platform));
  if (!entry) throw new Error(`${name} has no ${platform.toString()} image`);
  return entry;
}

function platformOfEntry(entry: Descriptor): Platform {
  const p = entry.platform!;
  return Platform.of(p.os, p.architecture, p.variant || undefined);
}
