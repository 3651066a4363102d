import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_REFERENCE_DIGEST, ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST, ImageRef, MediaType, Platform, RegistryClient, sha256Digest, type Index } from '@archfarm/common';
import { PlatformImageMissingError, PlatformMismatchError, publishIndex } from '@archfarm/coordinator';
import { pushIndexWithAttestation, pushTinyImage } from './support/oci-fixture';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const AMD64 = Platform.parse('linux/amd64');
const ARM64 = Platform.parse('linux/arm64');

test('the merge against a registry that holds a child index with an attestation manifest keeps the attestation', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('merge');
  const amd64 = await pushTinyImage(client, repo, { architecture: 'amd64', os: 'linux' }, 'amd64');
  const arm64 = await pushTinyImage(client, repo, { architecture: 'arm64', os: 'linux', variant: 'v8' }, 'arm64');
  // The arm64 agent's engine pushed what BuildKit pushes with provenance: an index.
  const child = await pushIndexWithAttestation(client, repo, arm64, { architecture: 'arm64', os: 'linux' });

  const target = ImageRef.parse(`${registry}/${repo}:1.0`);
  const result = await publishIndex({
    client,
    target,
    images: [
      { platform: AMD64, digest: amd64.digest },
      { platform: ARM64, digest: child.digest },
    ],
  });
  assert.deepEqual(
    result.manifests.map((m) => [m.platform.toString(), m.digest]),
    [['linux/amd64', amd64.digest], ['linux/arm64', arm64.digest]],
  );

  const raw = await skopeoInspect(target.toString());
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(sha256Digest(Buffer.from(raw.stdout)), result.digest, 'the tag holds exactly the bytes whose digest was returned');
  const index = JSON.parse(raw.stdout) as Index;
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, MediaType.OciIndex);
  // The engine's attestation of the arm64 image is kept, after the platform manifests, still naming that image.
  const childIndex = (await client.getManifest(repo, child.digest)).json as Index;
  const attestation = childIndex.manifests[1]!;
  assert.deepEqual(index.manifests, [
    { mediaType: MediaType.OciManifest, digest: amd64.digest, size: amd64.size, platform: { architecture: 'amd64', os: 'linux' } },
    { mediaType: MediaType.OciManifest, digest: arm64.digest, size: arm64.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    {
      mediaType: MediaType.OciManifest,
      digest: attestation.digest,
      size: attestation.size,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { [ANNOTATION_REFERENCE_DIGEST]: arm64.digest, [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST },
    },
  ]);
  assert.ok(!raw.stdout.includes(child.digest), 'the child index is not referenced');
});

test('a config for another architecture fails the merge and leaves no tag', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('merge');
  const amd64 = await pushTinyImage(client, repo, { architecture: 'amd64', os: 'linux' }, 'amd64');
  // An "s390x" job whose engine silently built for amd64.
  const wrong = await pushTinyImage(client, repo, { architecture: 'amd64', os: 'linux' }, 'not-s390x');
  const target = ImageRef.parse(`${registry}/${repo}:1.0`);
  const s390x = Platform.parse('linux/s390x');

  const err = await publishIndex({
    client,
    target,
    images: [
      { platform: AMD64, digest: amd64.digest },
      { platform: s390x, digest: wrong.digest },
    ],
  }).catch((e: unknown) => e);
  assert.ok(err instanceof PlatformMismatchError, String(err));
  assert.equal(err.kind, 'build');
  assert.equal(err.code, 'PLATFORM_MISMATCH');
  assert.match(err.message, /linux\/s390x/);
  assert.match(err.message, /linux\/amd64/);

  const raw = await skopeoInspect(target.toString());
  assert.notEqual(raw.code, 0, 'skopeo must not find the tag');
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/1.0`, { headers: { accept: MediaType.OciIndex } });
  assert.equal(res.status, 404);
});

test('a digest that was never pushed is a clear error naming the platform, and no tag is written', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('merge');
  const amd64 = await pushTinyImage(client, repo, { architecture: 'amd64', os: 'linux' }, 'amd64');
  const target = ImageRef.parse(`${registry}/${repo}:1.0`);
  const lost = `sha256:${'e'.repeat(64)}`;
  const err = await publishIndex({
    client,
    target,
    images: [
      { platform: AMD64, digest: amd64.digest },
      { platform: ARM64, digest: lost },
    ],
  }).catch((e: unknown) => e);
  assert.ok(err instanceof PlatformImageMissingError, String(err));
  assert.equal(err.kind, 'infrastructure');
  assert.match(err.message, new RegExp(`linux/arm64 image ${registry}/${repo}@${lost}`));
  assert.equal(await client.manifestExists(repo, '1.0'), false);
});
