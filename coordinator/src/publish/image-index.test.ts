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
