import { gzipSync } from 'node:zlib';
import {
  ANNOTATION_REFERENCE_DIGEST,
  ANNOTATION_REFERENCE_TYPE,
  ATTESTATION_MANIFEST,
  MediaType,
  sha256Digest,
  type Descriptor,
  type Index,
  type Manifest,
  type OciPlatform,
  type RegistryClient,
} from '@archfarm/common';

/** Uploads bytes as a blob and returns its descriptor. */
export async function pushBlob(client: RegistryClient, repository: string, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
  await client.uploadBlob(repository, descriptor, bytes);
  return descriptor;
}

/**
 * Pushes a tiny single-layer image for one platform BY DIGEST: a gzipped layer made of
 * `seed` (the registry does not look inside layers), a config claiming `platform`, and
 * an OCI manifest. Returns the manifest's descriptor.
 */
export async function pushTinyImage(client: RegistryClient, repository: string, platform: OciPlatform, seed: string): Promise<Descriptor> {
  const raw = Buffer.from(`archfarm test layer ${seed}\n`);
  const layer = await pushBlob(client, repository, MediaType.OciLayerGzip, gzipSync(raw));
  const config = { ...platform, rootfs: { type: 'layers', diff_ids: [sha256Digest(raw)] }, config: {} };
  const configDesc = await pushBlob(client, repository, MediaType.OciConfig, Buffer.from(JSON.stringify(config)));
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers: [layer] };
  return putJson(client, repository, MediaType.OciManifest, manifest);
}

/**
 * Pushes what BuildKit pushes with provenance on: an index holding the platform manifest
 * and an attestation manifest (platform unknown/unknown) that refers to it.
 */
export async function pushIndexWithAttestation(client: RegistryClient, repository: string, image: Descriptor, platform: OciPlatform): Promise<Descriptor> {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ digest: image.digest }] }));
  const layer = await pushBlob(client, repository, 'application/vnd.in-toto+json', statement);
  const config = await pushBlob(client, repository, MediaType.OciConfig, Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
  const attestation = await putJson(client, repository, MediaType.OciManifest, { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] });
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      { ...image, platform },
      {
        ...attestation,
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST, [ANNOTATION_REFERENCE_DIGEST]: image.digest },
      },
    ],
  };
  return putJson(client, repository, MediaType.OciIndex, index);
}

/** PUTs a manifest or index by its digest and returns its descriptor. */
export async function putJson(client: RegistryClient, repository: string, mediaType: string, value: object): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = await client.putManifest(repository, sha256Digest(bytes), mediaType, bytes);
  return { mediaType, digest, size: bytes.length };
}

/** The tags of a repository through the registry's API; none when it answers 404. */
export async function listTags(registry: string, repository: string): Promise<string[]> {
  const res = await fetch(`http://${registry}/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`tags/list of ${repository} answered HTTP ${res.status}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}
