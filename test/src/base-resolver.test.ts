import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createLogger, Platform, type Index } from '@archfarm/common';
import { BaseResolver, baseChanges, RegistryAccess } from '@archfarm/coordinator';
import { pushMultiBase, replacePlatformBase } from './support/base-images';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

/**
 * --on-base-change's resolution of base images (issue 16) against the real test registry:
 * each platform gets its own manifest digest, as skopeo sees the index; a new image for one
 * platform only changes that platform's record and gives exactly one reason line.
 */
const PLATFORMS = Platform.parseList('linux/amd64,linux/arm64,linux/s390x');
let ref: string;
let resolver: BaseResolver;

before(async () => {
  ref = `${testRegistry()}/${uniqueRepository('base-resolver')}:1`;
  await pushMultiBase(ref, PLATFORMS.map(String));
  const logger = createLogger('base-resolver-test', 'error');
  // The test registry wants no login: the coordinator would hold none for it either.
  resolver = new BaseResolver({ registries: new RegistryAccess([], { authFile: undefined, useHostDockerConfig: false }, logger), credentials: { forPulling: () => Promise.resolve(new Map()) }, logger });
});

/** Each platform's manifest digest in the tag's index, as skopeo reads it. */
async function skopeoDigests(image: string): Promise<Map<string, string>> {
  const raw = await skopeoInspect(image);
  assert.equal(raw.code, 0, raw.stderr);
  const index = JSON.parse(raw.stdout) as Index;
  return new Map(index.manifests.map((m) => [Platform.of(m.platform!.os, m.platform!.architecture, m.platform!.variant).toString(), m.digest]));
}

const resolve = (dockerfile: string, platforms = PLATFORMS) => resolver.resolve({ dockerfile, buildArgs: { BASE: ref }, target: '', platforms });

test('each platform resolves to its own manifest, and a $BUILDPLATFORM stage to the tag itself', async () => {
  const dockerfile = ['ARG BASE', 'FROM --platform=$BUILDPLATFORM $BASE AS tools', 'RUN true', 'FROM ${BASE}', 'COPY --from=tools /bin/busybox /busybox'].join('\n');
  const records = await resolve(dockerfile);
  const want = await skopeoDigests(ref);
  const index = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`]);
  assert.equal(index.code, 0, index.stderr);
  // The order of records is the Dockerfile's stages', which the comparison ignores.
  const byPlatform = (a: { platform: string }, b: { platform: string }) => a.platform.localeCompare(b.platform);
  assert.deepEqual([...records].sort(byPlatform), [
    ...PLATFORMS.map((p) => ({ platform: p.toString(), ref, digest: want.get(p.toString()) })),
    { platform: '$BUILDPLATFORM', ref, digest: index.stdout.trim() },
  ].sort(byPlatform));
  assert.equal(new Set(records.map((r) => r.digest)).size, 4, 'three platform manifests and the index, all different');
  // The digest really is that platform's image: its config says so (skopeo, not our client).
  const s390x = records.find((r) => r.platform === 'linux/s390x')!;
  const config = await skopeoInspect(`${ref.replace(/:1$/, '')}@${s390x.digest}`, '--config');
  assert.equal(config.code, 0, config.stderr);
  assert.equal((JSON.parse(config.stdout) as { architecture: string }).architecture, 's390x');
});

test('a new image for linux/arm64 only: one reason line, naming its old and new digests', async () => {
  const dockerfile = `FROM ${ref}\nRUN true\n`;
  const first = await resolve(dockerfile);
  assert.deepEqual(baseChanges(first, await resolve(dockerfile)), [], 'nothing pushed, nothing changed');
  const { old, new: replaced } = await replacePlatformBase(ref, 'linux/arm64');
  assert.notEqual(old, replaced);
  assert.equal(first.find((r) => r.platform === 'linux/arm64')?.digest, old);
  const second = await resolve(dockerfile);
  assert.deepEqual(baseChanges(first, second), [`base ${ref} linux/arm64 changed ${old} -> ${replaced}`]);
  // The registry agrees: only arm64's entry moved.
  const now = await skopeoDigests(ref);
  assert.deepEqual(second.map((r) => [r.platform, r.digest]), PLATFORMS.map((p) => [p.toString(), now.get(p.toString())]));
  assert.equal(now.get('linux/arm64'), replaced);
});

test('an unknown tag and a platform the index lacks: clear errors naming the image and platform', async () => {
  const missing = ref.replace(/:1$/, ':no-such-tag');
  await assert.rejects(resolve(`FROM ${missing}\n`, Platform.parseList('linux/arm64')), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BASE_IMAGE_NOT_FOUND');
    assert.match(err.message, new RegExp(`base image ${missing.replace(/[.:/]/g, '\\$&')} \\(for linux/arm64\\) is not in its registry`));
    return true;
  });
  await assert.rejects(resolve(`FROM ${ref}\n`, Platform.parseList('linux/amd64,linux/ppc64le')), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BASE_PLATFORM_MISSING');
    assert.match(err.message, /has no linux\/ppc64le manifest: it is an index of linux\/amd64, linux\/arm64\/v8, linux\/s390x/);
    return true;
  });
});
