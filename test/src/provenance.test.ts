import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ANNOTATION_REFERENCE_DIGEST,
  ANNOTATION_REFERENCE_TYPE,
  ATTESTATION_MANIFEST,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_MEDIA_TYPE,
  keyId,
  pae,
  parseStatement,
  Platform,
  sha256Digest,
  type Descriptor,
  type DsseEnvelope,
  type Index,
  type Manifest,
} from '@archfarm/common';
import { BUILDX_PLUGIN } from './support/docker26';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];

interface BuildJson {
  digest: string;
  platforms: Array<{ platform: string; digest: string; agent: string; mode: string }>;
}

/** An index entry's platform as `--platform` spells it (common's Platform normalises arm64/v8). */
const platformOf = (p: NonNullable<Descriptor['platform']>): string => Platform.of(p.os, p.architecture, p.variant).toString();

/** A blob of `repository` as the registry serves it (checked against its digest). */
async function blob(repository: string, digest: string): Promise<Buffer> {
  const res = await fetch(`http://${testRegistry()}/v2/${repository}/blobs/${digest}`);
  assert.equal(res.status, 200, `blob ${digest}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(sha256Digest(bytes), digest);
  return bytes;
}

/** `openssl dgst -sha256 -verify`: an independent check of the DSSE signature over the PAE. */
async function opensslVerifies(dir: string, keyFile: string, envelope: DsseEnvelope, payload: Buffer): Promise<boolean> {
  const paeFile = join(dir, 'pae.bin');
  const sigFile = join(dir, 'sig.der');
  await writeFile(paeFile, pae(envelope.payloadType, payload));
  await writeFile(sigFile, Buffer.from(envelope.signatures[0]!.sig, 'base64'));
  const res = await run('openssl', ['dgst', '-sha256', '-verify', keyFile, '-signature', sigFile, paeFile]);
  assert.match(res.stdout, /Verified OK|Verification failure/, res.stderr);
  return res.code === 0 && res.stdout.includes('Verified OK');
}

/**
 * Signed provenance, end to end: a real coordinator and agents, the real engine with QEMU,
 * the real registry; skopeo and openssl as independent judges of what was published.
 */
describe('provenance: one signed attestation manifest per platform in the index', () => {
  let fleet: TestFleet;
  let dir: string;
  let keyFile: string;
  let publicKeyPem: string;

  before(async () => {
    testRegistry();
    dir = await mkdtemp(join(tmpdir(), 'archfarm-provenance-'));
    fleet = await TestFleet.start([
      { name: 'builder-a', platforms: 'linux/amd64,linux/arm64' },
      { name: 'builder-b', platforms: 'linux/arm/v7,linux/s390x' },
    ]);
  });

  after(async () => {
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('archfarm provenance key prints the public key; --output json its keyid too', async () => {
    const text = await fleet.cli(['provenance', 'key']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    publicKeyPem = text.stdout;
    keyFile = join(dir, 'farm.pub.pem');
    await writeFile(keyFile, publicKeyPem);
    const json = await fleet.cli(['provenance', 'key', '--output', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const key = JSON.parse(json.stdout) as { keyid: string; publicKeyPem: string };
    assert.equal(key.publicKeyPem, publicKeyPem);
    assert.equal(key.keyid, keyId(publicKeyPem));
  });

  test('a four-platform build: 4 platform manifests, then 4 signed attestations of them', async () => {
    assert.ok(keyFile, 'the key test ran first');
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN uname -m > /built-on\n` });
    const repository = uniqueRepository('provenance');
    const tag = `${testRegistry()}/${repository}:1`;
    const res = await fleet.cli(['build', '--platform', FOUR.join(','), '-t', tag, '--build-arg', 'VERSION=1.4', '--output', 'json', ctx]);
    assert.equal(res.code, 0, `build failed:\n${res.stderr}`);
    const built = JSON.parse(res.stdout) as BuildJson;

    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(sha256Digest(Buffer.from(raw.stdout)), built.digest);
    const index = JSON.parse(raw.stdout) as Index;
    const images = index.manifests.slice(0, 4);
    const attestations = index.manifests.slice(4);
    assert.equal(index.manifests.length, 8, raw.stdout);
    assert.deepEqual(images.map((m) => platformOf(m.platform!)).sort(), [...FOUR].sort());
    const buildId = index.annotations?.['io.archfarm.build.id'];
    assert.ok(buildId);
    // The base images each platform was built from, as the farm recorded them (issue 16).
    const inspected = await fleet.cli(['builds', 'inspect', buildId, '--output', 'json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    const recorded = JSON.parse(inspected.stdout) as { platforms: Array<{ platform: string; bases: Array<{ ref: string; digest: string }> }> };
    assert.ok(recorded.platforms.some((p) => p.bases.length > 0), 'some platform recorded its base');

    for (const image of images) {
      const platform = platformOf(image.platform!);
      const result = built.platforms.find((p) => p.platform === platform)!;
      assert.equal(result.digest, image.digest);
      // Its attestation: an entry of its own, unknown/unknown, naming the platform manifest.
      const entries = attestations.filter((a) => a.annotations?.[ANNOTATION_REFERENCE_DIGEST] === image.digest);
      assert.equal(entries.length, 1, `${platform}: one attestation`);
      const entry = entries[0]!;
      assert.deepEqual(entry.platform, { architecture: 'unknown', os: 'unknown' });
      assert.equal(entry.annotations?.[ANNOTATION_REFERENCE_TYPE], ATTESTATION_MANIFEST);

      const manifestRaw = await skopeoInspect(`${testRegistry()}/${repository}@${entry.digest}`);
      assert.equal(manifestRaw.code, 0, manifestRaw.stderr);
      const manifest = JSON.parse(manifestRaw.stdout) as Manifest;
      assert.deepEqual(manifest.layers.map((l) => l.mediaType), [IN_TOTO_MEDIA_TYPE, DSSE_ENVELOPE_MEDIA_TYPE]);
      const statementBytes = await blob(repository, manifest.layers[0]!.digest);
      const envelope = JSON.parse((await blob(repository, manifest.layers[1]!.digest)).toString()) as DsseEnvelope;

      // in-toto v1, SLSA provenance v1, about this platform's manifest, saying who built it how.
      const statement = parseStatement(statementBytes);
      assert.equal(`sha256:${statement.subject[0]!.digest.sha256}`, image.digest, `${platform}: subject`);
      assert.equal(statement.subject[0]!.name, `pkg:docker/${testRegistry()}/${repository}@1?platform=${encodeURIComponent(platform)}`);
      const { buildDefinition, runDetails } = statement.predicate;
      assert.equal(buildDefinition.externalParameters.platform, platform);
      assert.deepEqual(buildDefinition.externalParameters.buildArgs, { VERSION: '1.4' });
      assert.equal(buildDefinition.externalParameters.dockerfile, 'Dockerfile');
      assert.match((buildDefinition.externalParameters.context as { digest: string }).digest, /^sha256:[0-9a-f]{64}$/);
      const archfarm = buildDefinition.internalParameters.archfarm;
      assert.equal(archfarm.mode, result.mode, `${platform}: mode`);
      assert.equal(archfarm.mode, platform === 'linux/amd64' ? 'native' : 'emulated');
      assert.equal(archfarm.agent.name, result.agent, `${platform}: agent`);
      assert.equal(archfarm.agent.name, platform === 'linux/amd64' || platform === 'linux/arm64' ? 'builder-a' : 'builder-b');
      assert.match(archfarm.agent.certificateFingerprint, /^sha256:[0-9a-f]{64}$/);
      assert.equal(archfarm.agent.engine, 'docker');
      assert.match(archfarm.agent.engineVersion, /^\d+\.\d+/);
      assert.equal(archfarm.agent.cpu, 'x86_64', 'the CPU the engine reported: this host');
      assert.notEqual(archfarm.agent.kernel, '');
      assert.equal(archfarm.attempts, 1);
      const bases = recorded.platforms.find((p) => p.platform === platform)!.bases;
      assert.deepEqual(
        buildDefinition.resolvedDependencies,
        bases.map((b) => ({ uri: `pkg:docker/${b.ref}?platform=${encodeURIComponent(platform)}`, digest: { sha256: b.digest.replace('sha256:', '') }, annotations: { stage: '' } })),
        `${platform}: the bases as recorded`,
      );
      assert.equal(runDetails.metadata.invocationId, buildId);
      assert.ok(Date.parse(runDetails.metadata.startedOn) <= Date.parse(runDetails.metadata.finishedOn));

      // The DSSE envelope carries exactly the statement layer, signed by the key the CLI printed.
      assert.deepEqual(Buffer.from(envelope.payload, 'base64'), statementBytes);
      assert.equal(envelope.signatures[0]!.keyid, keyId(publicKeyPem));
      assert.equal(await opensslVerifies(dir, keyFile, envelope, statementBytes), true, `${platform}: openssl verifies`);
      const changed = Buffer.from(statementBytes);
      changed[changed.length - 2] = (changed[changed.length - 2] ?? 0) ^ 1;
      assert.equal(await opensslVerifies(dir, keyFile, envelope, changed), false, `${platform}: a changed statement does not verify`);
    }

    // The tool users have: buildx reads each platform's provenance from the index as it reads its own.
    const buildx = await run(BUILDX_PLUGIN, ['imagetools', 'inspect', tag, '--format', '{{json .Provenance}}'], { env: { DOCKER_CONFIG: join(dir, 'docker-config') } });
    assert.equal(buildx.code, 0, `${BUILDX_PLUGIN} imagetools inspect (scripts/docker26.sh unpacks it): ${buildx.stderr}`);
    const provenance = JSON.parse(buildx.stdout) as Record<string, { SLSA: { buildDefinition: { internalParameters: { archfarm: { mode: string; agent: { name: string } } } }; runDetails: { metadata: { invocationId: string } } } }>;
    assert.deepEqual(Object.keys(provenance).sort(), [...FOUR].sort(), 'buildx finds a provenance for every platform');
    for (const [platform, { SLSA }] of Object.entries(provenance)) {
      const result = built.platforms.find((p) => p.platform === platform)!;
      assert.equal(SLSA.buildDefinition.internalParameters.archfarm.mode, result.mode, `buildx: ${platform} mode`);
      assert.equal(SLSA.buildDefinition.internalParameters.archfarm.agent.name, result.agent, `buildx: ${platform} agent`);
      assert.equal(SLSA.runDetails.metadata.invocationId, buildId, `buildx: ${platform} build id`);
    }
  });

  test('--provenance=false publishes no attestation', async () => {
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN true\n` });
    const tag = `${testRegistry()}/${uniqueRepository('no-provenance')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64,linux/arm64', '-t', tag, '--provenance=false', ctx]);
    assert.equal(res.code, 0, res.stderr);
    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    const index = JSON.parse(raw.stdout) as Index;
    assert.deepEqual(index.manifests.map((m) => platformOf(m.platform!)), ['linux/amd64', 'linux/arm64']);
    assert.ok(!raw.stdout.includes(ATTESTATION_MANIFEST), raw.stdout);
  });
});
