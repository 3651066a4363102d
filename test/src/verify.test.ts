import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ANNOTATION_DSSE_PAYLOAD_DIGEST,
  ANNOTATION_REFERENCE_DIGEST,
  DSSE_ENVELOPE_MEDIA_TYPE,
  ImageRef,
  IN_TOTO_MEDIA_TYPE,
  MediaType,
  Platform,
  RegistryClient,
  signEnvelope,
  type Descriptor,
  type Index,
  type Manifest,
} from '@archfarm/common';
import { baseImage, makeContext } from './support/context';
import { TestFleet } from './support/fleet';
import { pushBlob, putJson } from './support/oci-fixture';
import { testRegistry, uniqueRepository } from './support/registry';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
/** On this x86 host only amd64 runs natively; the other three go through QEMU. */
const MODES: Record<string, string> = { 'linux/amd64': 'native', 'linux/arm64': 'emulated', 'linux/arm/v7': 'emulated', 'linux/s390x': 'emulated' };
const MAX_BLOB = 4 * 1024 * 1024;

interface VerifyJson {
  verified: boolean;
  digest: string;
  platforms: Array<{ platform: string; digest: string; agent: string | null; mode: string | null; bases: Array<{ uri: string; digest: string }>; context: unknown; verified: boolean; problems: Array<{ code: string; message: string }> }>;
}

/**
 * What an attacker with push access to the repository can do: push a copy of the index under
 * another tag in which `platform`'s attestation entry points at a new attestation manifest
 * whose layers `change` made (a re-signed or altered statement). Returns the copy's reference.
 */
async function pushTamperedCopy(tag: string, platform: string, change: (layers: Descriptor[], read: (d: Descriptor) => Promise<Buffer>, push: (mediaType: string, bytes: Buffer, annotations: Record<string, string>) => Promise<Descriptor>) => Promise<Descriptor[]>): Promise<string> {
  const ref = ImageRef.parse(tag);
  const client = new RegistryClient(ref.registry, { userAgent: 'archfarm-test' });
  const index = (await client.getManifest(ref.repository, ref.reference)).json as Index;
  const image = index.manifests.find((m) => m.platform && m.platform.os !== 'unknown' && Platform.of(m.platform.os, m.platform.architecture, m.platform.variant).toString() === platform);
  assert.ok(image, `${platform} is in the index`);
  const entry = index.manifests.find((m) => m.annotations?.[ANNOTATION_REFERENCE_DIGEST] === image.digest);
  assert.ok(entry, `${platform} has an attestation entry`);
  const manifest = (await client.getManifest(ref.repository, entry.digest)).json as Manifest;
  const read = (d: Descriptor) => client.getBlob(ref.repository, d.digest, MAX_BLOB);
  const push = async (mediaType: string, bytes: Buffer, annotations: Record<string, string>) => ({ ...(await pushBlob(client, ref.repository, mediaType, bytes)), annotations });
  const layers = await change(manifest.layers, read, push);
  const config = await pushBlob(client, ref.repository, MediaType.OciConfig, Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })));
  const replaced = await putJson(client, ref.repository, MediaType.OciManifest, { ...manifest, config, layers });
  const copy: Index = { ...index, manifests: index.manifests.map((m) => (m === entry ? { ...m, digest: replaced.digest, size: replaced.size } : m)) };
  const copyTag = ref.withTag(`${ref.tag ?? 'latest'}-tampered-${platform.replace(/\//g, '-')}`);
  await client.putManifest(ref.repository, copyTag.reference, MediaType.OciIndex, Buffer.from(JSON.stringify(copy)));
  return copyTag.toString();
}

/**
 * `archfarm verify` end to end: a real coordinator and agent, the real engine with QEMU for
 * the three foreign CPUs, the real registry; the coordinator publishes signed attestations
 * and the CLI checks them from the registry, with the key from a file and from the coordinator.
 */
describe('archfarm verify: a four-platform build from the farm', () => {
  let fleet: TestFleet;
  let tag: string;
  let keyFile: string;
  /** What the farm recorded per platform: `build --output json`'s agent and mode, `builds inspect`'s bases. */
  let recorded: Map<string, { agent: string; mode: string; bases: Array<{ ref: string; digest: string }> }>;

  before(async () => {
    testRegistry();
    fleet = await TestFleet.start([{ name: 'builder', platforms: FOUR.join(',') }]);
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN uname -m > /built-on\n` });
    tag = `${testRegistry()}/${uniqueRepository('verify')}:1`;
    const built = await fleet.cli(['build', '--platform', FOUR.join(','), '-t', tag, '--progress', 'quiet', '--output', 'json', ctx]);
    assert.equal(built.code, 0, `build failed:\n${built.stderr}`);
    const result = JSON.parse(built.stdout) as { digest: string; platforms: Array<{ platform: string; agent: string; mode: string }> };
    const ref = ImageRef.parse(tag);
    const index = (await new RegistryClient(ref.registry).getManifest(ref.repository, result.digest)).json as Index;
    const inspected = await fleet.cli(['builds', 'inspect', index.annotations?.['io.archfarm.build.id'] ?? '', '--output', 'json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    const details = JSON.parse(inspected.stdout) as { platforms: Array<{ platform: string; bases: Array<{ ref: string; digest: string }> }> };
    recorded = new Map(result.platforms.map((p) => [p.platform, { ...p, bases: details.platforms.find((d) => d.platform === p.platform)?.bases ?? [] }]));
    const key = await fleet.cli(['provenance', 'key']);
    assert.equal(key.code, 0, key.stderr);
    keyFile = join(fleet.dir, 'farm.pub.pem');
    await writeFile(keyFile, key.stdout);
  });

  after(async () => {
    await fleet?.stop();
  });

  async function verify(args: string[]): Promise<{ code: number; json: VerifyJson; stderr: string }> {
    const res = await fleet.cli(['verify', ...args, '--output', 'json']);
    return { code: res.code ?? -1, json: JSON.parse(res.stdout) as VerifyJson, stderr: res.stderr };
  }

  test('passes with the key from a file: per platform the agent, mode and bases the farm recorded, and the context', async () => {
    const res = await verify([tag, '--key', keyFile]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.verified, true);
    assert.deepEqual(res.json.platforms.map((p) => [p.platform, p.verified, p.agent, p.mode]).sort(), FOUR.map((p) => [p, true, 'builder', MODES[p]]).sort());
    for (const p of res.json.platforms) {
      const farm = recorded.get(p.platform);
      assert.ok(farm, `${p.platform} was built`);
      assert.deepEqual(p.problems, []);
      assert.deepEqual([p.agent, p.mode], [farm.agent, farm.mode], `${p.platform}: agent and mode as the build said`);
      const bases = farm.bases.map((b) => ({ uri: `pkg:docker/${b.ref}?platform=${encodeURIComponent(p.platform)}`, digest: b.digest, stage: '' }));
      assert.deepEqual(p.bases, bases, `${p.platform}: the bases as builds inspect recorded them`);
      assert.match(JSON.stringify(p.context), /^\{"digest":"sha256:[a-f0-9]{64}"\}$/, `${p.platform} records the context's digest`);
    }
    assert.ok(res.json.platforms.some((p) => p.bases.length > 0), 'some platform recorded its base');
  });

  test('passes with the key asked from the coordinator, printing OK per platform', async () => {
    const res = await fleet.cli(['verify', tag]);
    assert.equal(res.code, 0, res.stderr);
    for (const p of FOUR) assert.match(res.stdout, new RegExp(`^${p.replace(/\//g, '\\/')} +OK `, 'm'));
    assert.match(res.stdout, /^ {2}agent {4}builder, emulated$/m);
  });

  test('fails (exit 7) on a copy whose arm64 attestation was re-signed with another key, naming arm64 only', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const copy = await pushTamperedCopy(tag, 'linux/arm64', async (layers, read, push) => {
      const statement = layers.find((l) => l.mediaType === IN_TOTO_MEDIA_TYPE)!;
      const envelope = Buffer.from(JSON.stringify(signEnvelope(await read(statement), other.privateKey)));
      return Promise.all(layers.map((l) => (l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE ? push(l.mediaType, envelope, l.annotations ?? {}) : l)));
    });
    const res = await verify([copy, '--key', keyFile]);
    assert.equal(res.code, 7, res.stderr);
    assert.equal(res.json.verified, false);
    const failing = res.json.platforms.filter((p) => !p.verified);
    assert.deepEqual(failing.map((p) => [p.platform, p.problems.map((q) => q.code)]), [['linux/arm64', ['SIGNATURE_INVALID']]]);
    assert.match(res.stderr, /linux\/arm64 \(SIGNATURE_INVALID\)/);
  });

  test('fails on a copy whose s390x statement was rewritten to say native under the old envelope', async () => {
    const copy = await pushTamperedCopy(tag, 'linux/s390x', async ([statement, ...rest], read, push) => {
      const original = (await read(statement!)).toString('utf8');
      const text = original.replace('"mode":"emulated"', '"mode":"native"');
      assert.notEqual(text, original, 'the statement says emulated');
      const changed = await push(IN_TOTO_MEDIA_TYPE, Buffer.from(text), statement!.annotations ?? {});
      return [changed, ...rest.map((l) => (l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE ? { ...l, annotations: { [ANNOTATION_DSSE_PAYLOAD_DIGEST]: changed.digest } } : l))];
    });
    const res = await verify([copy, '--key', keyFile, '--require-native', 'linux/s390x']);
    assert.equal(res.code, 7, res.stderr);
    const s390x = res.json.platforms.find((p) => p.platform === 'linux/s390x')!;
    assert.deepEqual(s390x.problems.map((q) => q.code), ['PAYLOAD_MISMATCH', 'NOT_NATIVE']);
    assert.equal(s390x.mode, null, 'the rewritten mode is not shown');
  });

  test('--require-native linux/s390x fails (exit 7) on the untouched index, naming s390x as emulated', async () => {
    const res = await verify([tag, '--key', keyFile, '--require-native', 'linux/s390x']);
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /linux\/s390x \(NOT_NATIVE\)/);
    const s390x = res.json.platforms.find((p) => p.platform === 'linux/s390x')!;
    assert.equal(s390x.verified, true, 'its provenance is genuine; it says emulated');
    assert.match(s390x.problems[0]?.message ?? '', /--require-native linux\/s390x: built emulated by agent builder/);
    const native = await verify([tag, '--key', keyFile, '--require-native', 'linux/amd64']);
    assert.equal(native.code, 0, native.stderr);
  });
});
