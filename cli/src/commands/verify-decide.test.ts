import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_REFERENCE_DIGEST,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_MEDIA_TYPE,
  keyId,
  Platform,
  statementBytes,
  type DsseEnvelope,
  type Descriptor,
} from '@archfarm/common';
import { decideVerify } from './verify-decide';
import {
  addAttestation,
  attestationOf,
  buildFixture,
  imageDigest,
  manifestOf,
  material,
  putAttestationManifest,
  putBlob,
  statementFor,
  testKeys,
  type Fixture,
  type PlatformSpec,
} from './verify-fixture';
import { contextText, verifyText } from './verify-output';
import type { PlatformVerdictJson, VerifyReportJson } from './verify-report';

const keys = testKeys();
const FLEET: PlatformSpec[] = [
  { platform: 'linux/amd64', mode: 'native', agent: 'amd-1' },
  { platform: 'linux/arm64', mode: 'native', agent: 'pi-5' },
  { platform: 'linux/arm/v7', mode: 'native', agent: 'pi-5' },
  { platform: 'linux/s390x', mode: 'emulated', agent: 'amd-1' },
];

function decide(fixture: Fixture, requireNative: string[] = [], key = keys.publicKey): VerifyReportJson {
  return decideVerify(material(fixture), { key, requireNative: requireNative.map((p) => Platform.parse(p)) });
}

function verdict(report: VerifyReportJson, platform: string): PlatformVerdictJson {
  const found = report.platforms.find((p) => p.platform === platform);
  assert.ok(found, `${platform} is in the report`);
  return found;
}

/** The problem codes per platform, for platforms that have any. */
function failing(report: VerifyReportJson): Record<string, string[]> {
  return Object.fromEntries(report.platforms.filter((p) => p.problems.length > 0).map((p) => [p.platform, p.problems.map((q) => q.code)]));
}

/** Points `platform`'s index entry at a new attestation manifest of the layers `change` makes. */
function replaceLayers(fixture: Fixture, platform: string, change: (layers: Descriptor[]) => Descriptor[]): void {
  const entry = attestationOf(fixture, platform);
  const replaced = putAttestationManifest(fixture, imageDigest(platform), change([...manifestOf(fixture, entry).layers]));
  fixture.index.manifests[fixture.index.manifests.indexOf(entry)] = replaced;
}

function blobOf(fixture: Fixture, layer: Descriptor): Buffer {
  const b = fixture.blobs.get(layer.digest);
  assert.ok(b?.ok);
  return b.value;
}

test('a four-platform index signed by the key verifies, with each platform\'s agent, mode, bases and context', () => {
  const report = decide(buildFixture(FLEET, keys.privateKey));
  assert.equal(report.verified, true, JSON.stringify(report, null, 2));
  assert.equal(report.keyid, keyId(keys.publicKey));
  assert.deepEqual(report.platforms.map((p) => [p.platform, p.agent, p.mode, p.verified]), [
    ['linux/amd64', 'amd-1', 'native', true],
    ['linux/arm64', 'pi-5', 'native', true],
    ['linux/arm/v7', 'pi-5', 'native', true],
    ['linux/s390x', 'amd-1', 'emulated', true],
  ]);
  const s390x = verdict(report, 'linux/s390x');
  assert.equal(s390x.digest, imageDigest('linux/s390x'));
  assert.deepEqual(s390x.bases, [{ uri: 'pkg:docker/127.0.0.1:5000/base@1?platform=linux%2Fs390x', digest: `sha256:${'b'.repeat(64)}`, stage: '0' }]);
  assert.deepEqual(s390x.context, statementFor(FLEET[3]!).predicate.buildDefinition.externalParameters.context);
  assert.deepEqual(report.problems, []);
});

test('a flipped signature byte fails that platform only, and shows none of its claims', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  replaceLayers(fixture, 'linux/arm64', (layers) =>
    layers.map((l) => {
      if (l.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) return l;
      const envelope = JSON.parse(blobOf(fixture, l).toString()) as DsseEnvelope;
      const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
      sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 0x01, sig.length - 1);
      envelope.signatures[0]!.sig = sig.toString('base64');
      return putBlob(fixture, l.mediaType, Buffer.from(JSON.stringify(envelope)), l.annotations ?? {});
    }),
  );
  const report = decide(fixture);
  assert.equal(report.verified, false);
  assert.deepEqual(failing(report), { 'linux/arm64': ['SIGNATURE_INVALID'] });
  const arm64 = verdict(report, 'linux/arm64');
  assert.deepEqual([arm64.verified, arm64.agent, arm64.mode, arm64.context, arm64.bases], [false, null, null, null, []]);
});

test('an index signed with another key fails every platform, naming both keys', () => {
  const other = testKeys();
  const report = decide(buildFixture(FLEET, other.privateKey));
  assert.deepEqual(Object.values(failing(report)), FLEET.map(() => ['SIGNATURE_INVALID']));
  assert.ok(verdict(report, 'linux/amd64').problems[0]!.message.includes(keyId(other.publicKey)));
  assert.ok(verdict(report, 'linux/amd64').problems[0]!.message.includes(keyId(keys.publicKey)));
});

test("another platform's signed attestation swapped in is not this manifest's (subject mismatch)", () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  const amd64Layers = manifestOf(fixture, attestationOf(fixture, 'linux/amd64')).layers;
  replaceLayers(fixture, 'linux/s390x', () => amd64Layers);
  const report = decide(fixture);
  assert.deepEqual(failing(report), { 'linux/s390x': ['SUBJECT_MISMATCH'] });
  assert.match(verdict(report, 'linux/s390x').problems[0]!.message, new RegExp(imageDigest('linux/amd64')));
});

test('a statement for the right digest but another platform is refused', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  const lying = statementFor({ platform: 'linux/amd64', mode: 'native', agent: 'amd-1' }, imageDigest('linux/s390x'));
  const entry = addAttestation(fixture, imageDigest('linux/s390x'), statementBytes(lying), keys.privateKey);
  fixture.index.manifests[fixture.index.manifests.indexOf(attestationOf(fixture, 'linux/s390x'))] = entry;
  assert.deepEqual(failing(decide(fixture)), { 'linux/s390x': ['SUBJECT_MISMATCH'] });
});

test('a statement layer rewritten under the old envelope fails: the envelope signs other bytes', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  replaceLayers(fixture, 'linux/s390x', ([statement, envelope]) => {
    const text = blobOf(fixture, statement!).toString().replace('"emulated"', '"native"');
    const changed = putBlob(fixture, IN_TOTO_MEDIA_TYPE, Buffer.from(text), statement!.annotations ?? {});
    return [changed, { ...envelope!, annotations: { 'io.archfarm.dsse.payload-digest': changed.digest } }];
  });
  const report = decide(fixture, ['linux/s390x']);
  assert.deepEqual(failing(report), { 'linux/s390x': ['PAYLOAD_MISMATCH', 'NOT_NATIVE'] });
  assert.equal(verdict(report, 'linux/s390x').mode, null, 'the rewritten "native" is never shown');
});

test("an envelope layer that names another payload digest than the statement layer's is refused", () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  replaceLayers(fixture, 'linux/amd64', ([statement, envelope]) => [statement!, { ...envelope!, annotations: { 'io.archfarm.dsse.payload-digest': imageDigest('x') } }]);
  assert.deepEqual(failing(decide(fixture)), { 'linux/amd64': ['PAYLOAD_MISMATCH'] });
});

test('a platform without an attestation, or with only an unsigned (buildx) one, has no signature', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  fixture.index.manifests.splice(fixture.index.manifests.indexOf(attestationOf(fixture, 'linux/arm/v7')), 1);
  const unsigned = putBlob(fixture, IN_TOTO_MEDIA_TYPE, Buffer.from('{}'), { [ANNOTATION_PREDICATE_TYPE]: 'https://spdx.dev/Document' });
  fixture.index.manifests.push(putAttestationManifest(fixture, imageDigest('linux/arm/v7'), [unsigned]));
  const report = decide(fixture);
  assert.deepEqual(failing(report), { 'linux/arm/v7': ['SIGNATURE_MISSING'] });
  assert.match(verdict(report, 'linux/arm/v7').problems[0]!.message, new RegExp(imageDigest('linux/arm/v7')));
});

test("buildx's unsigned attestation beside the signed one is passed over", () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  const sbom = putBlob(fixture, IN_TOTO_MEDIA_TYPE, Buffer.from('{}'), { [ANNOTATION_PREDICATE_TYPE]: 'https://spdx.dev/Document' });
  fixture.index.manifests.push(putAttestationManifest(fixture, imageDigest('linux/arm64'), [sbom]));
  assert.equal(decide(fixture).verified, true);
});

test('an attestation layer the registry does not have is unreadable, not verified', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  const envelope = manifestOf(fixture, attestationOf(fixture, 'linux/amd64')).layers[1]!;
  fixture.blobs.set(envelope.digest, { ok: false, reason: 'blob unknown to registry' });
  fixture.manifests.set(attestationOf(fixture, 'linux/arm64').digest, { ok: false, reason: 'manifest unknown' });
  assert.deepEqual(failing(decide(fixture)), { 'linux/amd64': ['ATTESTATION_UNREADABLE'], 'linux/arm64': ['ATTESTATION_UNREADABLE'] });
});

test('a signed statement of another predicate type is refused', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  const statement = { ...statementFor(FLEET[0]!), predicateType: 'https://slsa.dev/provenance/v0.2' };
  const entry = addAttestation(fixture, imageDigest('linux/amd64'), Buffer.from(JSON.stringify(statement)), keys.privateKey);
  fixture.index.manifests[fixture.index.manifests.indexOf(attestationOf(fixture, 'linux/amd64'))] = entry;
  assert.deepEqual(failing(decide(fixture)), { 'linux/amd64': ['STATEMENT_INVALID'] });
});

test('--require-native fails an emulated platform, naming it, and passes native ones', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  assert.equal(decide(fixture, ['linux/amd64', 'linux/arm64', 'arm/v7']).verified, true);
  const report = decide(fixture, ['linux/s390x']);
  assert.equal(report.verified, false);
  const s390x = verdict(report, 'linux/s390x');
  assert.equal(s390x.verified, true, 'its provenance itself checks out');
  assert.deepEqual(s390x.problems.map((p) => p.code), ['NOT_NATIVE']);
  assert.match(s390x.problems[0]!.message, /--require-native linux\/s390x: built emulated by agent amd-1/);
});

test('--require-native of a platform the index lacks fails REF as a whole', () => {
  const report = decide(buildFixture(FLEET.slice(0, 2), keys.privateKey), ['linux/s390x']);
  assert.equal(report.verified, false);
  assert.deepEqual(failing(report), {});
  assert.deepEqual(report.problems.map((p) => p.code), ['PLATFORM_MISSING']);
  assert.match(report.problems[0]!.message, /linux\/s390x/);
});

test('the text names each platform with OK or FAILED, its agent and mode, context and bases', () => {
  const fixture = buildFixture(FLEET, keys.privateKey);
  const text = verifyText(decide(fixture, ['linux/s390x'])).join('\n');
  assert.match(text, /^linux\/amd64 {3}OK {6}sha256:/m);
  assert.match(text, /^linux\/s390x {3}FAILED {2}sha256:/m);
  assert.match(text, /^ {2}agent {4}amd-1, emulated$/m);
  assert.match(text, /^ {2}context {2}sha256:[a-f0-9]{64}$/m);
  assert.match(text, /^ {2}base {5}pkg:docker\/127\.0\.0\.1:5000\/base@1\?platform=linux%2Fs390x sha256:b{64} \(stage 0\)$/m);
  assert.match(text, /^ {2}problem {2}--require-native linux\/s390x: built emulated/m);
  assert.match(text, /^NOT VERIFIED$/m);
  assert.ok(!text.includes(ANNOTATION_REFERENCE_DIGEST));
});

test('a git context reads as buildx writes the source, with its commit', () => {
  assert.equal(contextText({ git: { url: 'https://git.example/app.git', ref: 'main', subdir: 'svc', commit: 'c0ffee' } }), 'https://git.example/app.git#main:svc commit c0ffee');
  assert.equal(contextText({ git: { url: 'https://git.example/app.git', ref: '', subdir: '', commit: '' } }), 'https://git.example/app.git');
  assert.equal(contextText({ digest: imageDigest('ctx') }), imageDigest('ctx'));
});
