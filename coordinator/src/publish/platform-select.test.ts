import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST, MediaType, Platform, type Descriptor } from '@archfarm/common';
import { describeIndex, platformOf, selectPlatformEntry } from './platform-select';

const entry = (n: number, platform: Descriptor['platform'], annotations?: Record<string, string>): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest: `sha256:${String(n).repeat(64)}`,
  size: n,
  platform,
  ...(annotations ? { annotations } : {}),
});

test('arm64 with variant v8, none, or written aarch64 are the same platform', () => {
  const arm64 = Platform.parse('linux/arm64');
  for (const fields of [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'aarch64' }, { os: 'linux', architecture: 'arm64', variant: '' }]) {
    assert.ok(platformOf(fields)?.equals(arm64), JSON.stringify(fields));
  }
  assert.ok(!platformOf({ os: 'linux', architecture: 'arm', variant: 'v6' })?.equals(Platform.parse('linux/arm/v7')));
  assert.ok(platformOf({ os: 'linux', architecture: 'arm' })?.equals(Platform.parse('linux/arm/v7')), 'arm defaults to v7');
});

test('unknown or missing platforms are no platform, never an exception', () => {
  assert.equal(platformOf({ os: 'unknown', architecture: 'unknown' }), undefined);
  assert.equal(platformOf({ os: 'linux', architecture: 'sparc' }), undefined);
  assert.equal(platformOf(undefined), undefined);
  assert.equal(platformOf({ architecture: 'amd64' }), undefined);
});

test('picks the platform manifest of a BuildKit index, never the attestation', () => {
  const manifests = [
    entry(1, { os: 'unknown', architecture: 'unknown' }, { [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST }),
    entry(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
  ];
  assert.equal(selectPlatformEntry(manifests, Platform.parse('linux/arm64'))?.size, 2);
  assert.equal(selectPlatformEntry(manifests, Platform.parse('linux/amd64')), undefined);
});

test('an attestation annotated as if it were the platform is still skipped', () => {
  const manifests = [
    entry(1, { os: 'linux', architecture: 'amd64' }, { [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST }),
    entry(2, { os: 'linux', architecture: 'amd64' }),
  ];
  assert.equal(selectPlatformEntry(manifests, Platform.parse('linux/amd64'))?.size, 2);
});

test('describes what an index offers, for the mismatch message', () => {
  assert.equal(describeIndex([entry(1, { os: 'linux', architecture: 'amd64' }), entry(2, { os: 'unknown', architecture: 'unknown' })]), 'an index of linux/amd64, unknown/unknown');
  assert.equal(describeIndex([]), 'an empty index');
});
