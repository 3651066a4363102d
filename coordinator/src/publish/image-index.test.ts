import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaType, Platform, sha256Digest, type Index } from '@archfarm/common';
import { buildImageIndex, ociPlatform } from './image-index';

const d = (n: number): string => `sha256:${String(n).repeat(64)}`;

test('one entry per platform, in the asked order, with the manifest descriptor', () => {
  const bytes = buildImageIndex([
    { platform: Platform.parse('linux/s390x'), manifest: { mediaType: MediaType.OciManifest, digest: d(1), size: 10 } },
    { platform: Platform.parse('linux/amd64'), manifest: { mediaType: MediaType.DockerManifest, digest: d(2), size: 20 } },
  ]);
  const index = JSON.parse(bytes.toString()) as Index;
  assert.deepEqual(index, {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      { mediaType: MediaType.OciManifest, digest: d(1), size: 10, platform: { architecture: 's390x', os: 'linux' } },
      { mediaType: MediaType.DockerManifest, digest: d(2), size: 20, platform: { architecture: 'amd64', os: 'linux' } },
    ],
  });
});

test('the same entries always give the same bytes (so the same digest)', () => {
  const entries = [{ platform: Platform.parse('arm64'), manifest: { mediaType: MediaType.OciManifest, digest: d(3), size: 5 } }];
  assert.equal(sha256Digest(buildImageIndex(entries)), sha256Digest(buildImageIndex(entries)));
});

test('arm64 is written with variant v8 whatever it was parsed from; arm keeps its variant', () => {
  for (const text of ['linux/arm64', 'linux/arm64/v8', 'aarch64']) {
    assert.deepEqual(ociPlatform(Platform.parse(text)), { architecture: 'arm64', os: 'linux', variant: 'v8' }, text);
  }
  assert.deepEqual(ociPlatform(Platform.parse('linux/arm64/v9')), { architecture: 'arm64', os: 'linux', variant: 'v9' });
  assert.deepEqual(ociPlatform(Platform.parse('armhf')), { architecture: 'arm', os: 'linux', variant: 'v7' });
  assert.deepEqual(ociPlatform(Platform.parse('linux/amd64')), { architecture: 'amd64', os: 'linux' });
});

test('attestation manifests follow every platform manifest, in the platforms order, annotation keys sorted', () => {
  const attestation = (n: number, subject: string) => ({
    mediaType: MediaType.OciManifest,
    digest: d(n),
    size: n,
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject },
  });
  const bytes = buildImageIndex([
    { platform: Platform.parse('linux/amd64'), manifest: { mediaType: MediaType.OciManifest, digest: d(1), size: 10 }, attestations: [attestation(5, d(1))] },
    { platform: Platform.parse('linux/s390x'), manifest: { mediaType: MediaType.OciManifest, digest: d(2), size: 20 }, attestations: [attestation(6, d(2)), attestation(7, d(2))] },
  ]);
  const index = JSON.parse(bytes.toString()) as Index;
  assert.deepEqual(
    index.manifests.map((m) => [m.digest, m.platform?.architecture]),
    [[d(1), 'amd64'], [d(2), 's390x'], [d(5), 'unknown'], [d(6), 'unknown'], [d(7), 'unknown']],
  );
  assert.deepEqual(Object.keys(index.manifests[2]!.annotations!), ['vnd.docker.reference.digest', 'vnd.docker.reference.type']);
  assert.equal(index.manifests[2]!.annotations!['vnd.docker.reference.digest'], d(1));
});
