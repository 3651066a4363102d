import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { MediaType, sha256Digest, signEnvelope, verifyEnvelope, type Manifest } from '@archfarm/common';
import { attestationManifest } from './attestation-manifest';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const subject = `sha256:${'1'.repeat(64)}`;
const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');

test('the attestation manifest is buildx-shaped: unknown/unknown config, the statement layer, then the envelope over it', () => {
  const envelope = signEnvelope(statement, privateKey);
  const a = attestationManifest(subject, statement, envelope);
  const manifest = JSON.parse(a.bytes.toString()) as Manifest;
  const [config, layer, dsse] = a.blobs;
  assert.equal(manifest.mediaType, MediaType.OciManifest);
  assert.deepEqual(manifest.config, { mediaType: MediaType.OciConfig, digest: config!.digest, size: config!.size });
  assert.deepEqual(JSON.parse(config!.bytes.toString()), { architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer!.digest, dsse!.digest] } });
  assert.deepEqual(manifest.layers, [
    { mediaType: 'application/vnd.in-toto+json', digest: sha256Digest(statement), size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' } },
    { mediaType: 'application/vnd.dsse.envelope.v1+json', digest: dsse!.digest, size: dsse!.size, annotations: { 'io.archfarm.dsse.payload-digest': sha256Digest(statement) } },
  ]);
  assert.deepEqual(layer!.bytes, statement);
  assert.deepEqual(verifyEnvelope(dsse!.bytes, publicKey), statement, 'the envelope layer verifies and carries exactly the statement layer');
  for (const blob of a.blobs) assert.equal(blob.digest, sha256Digest(blob.bytes));
});

test('its index entry is unknown/unknown and names the platform manifest it attests', () => {
  const a = attestationManifest(subject, statement, signEnvelope(statement, privateKey));
  assert.deepEqual(a.descriptor, {
    mediaType: MediaType.OciManifest,
    digest: sha256Digest(a.bytes),
    size: a.bytes.length,
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject, 'vnd.docker.reference.type': 'attestation-manifest' },
  });
});
