import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createLogger, ImageRef, MediaType, Platform, RegistryClient, type Index } from '@archfarm/common';
import type { Build, BuildSpec, Job } from './builds/build';
import { ANNOTATION_AGENT, ANNOTATION_BUILD_ID, ANNOTATION_MODE, publishIndex } from './publish';
import { manifestAnnotations, publishBuild } from './publish-build';
import { RegistryAccess } from './registry-access';
import { missingRegistry, pushImage, REGISTRY } from './testing/registry';

const logger = createLogger('test', 'silent');
const amd64 = Platform.parse('linux/amd64');
const arm64 = Platform.parse('linux/arm64');

function buildOf(repository: string, over: Partial<BuildSpec>, jobs: Array<Pick<Job, 'platform' | 'digest' | 'agent' | 'mode'>>): Build {
  const tag = ImageRef.parse(`${REGISTRY}/${repository}:1.4`);
  const spec = {
    ...{ platforms: jobs.map((j) => j.platform), tag, tags: [tag], contextDigest: '', dockerfile: 'Dockerfile', buildArgs: {}, target: '', waitTimeoutSeconds: 0, timeoutSeconds: 0 },
    ...{ allowPartial: false, smokeCommand: [], emulation: 'prefer-native' as const, requireLabels: {}, crossCompile: false, labels: {}, annotations: [], pull: false, noCache: false, secretIds: [] },
    ...over,
  };
  const id = randomBytes(6).toString('hex');
  const full = jobs.map((j, i) => ({ ...j, id: `${id}-${i}`, buildId: id, state: 'succeeded' as const, attempt: 1, queuedAt: 0, failedOn: new Set<string>() }));
  return { id, spec, state: 'publishing', jobs: full, createdAt: 0 };
}

test('every tag gets the same index, with annotations at their levels and the farm record in the index only', async (t) => {
  if (await missingRegistry(t)) return;
  const client = new RegistryClient(REGISTRY);
  const repository = `archfarm-test/publish-${randomBytes(4).toString('hex')}`;
  const [d1, d2] = [await pushImage(client, repository, amd64), await pushImage(client, repository, arm64)];
  const tags = ['1.4', '1', 'latest'].map((t) => ImageRef.parse(`${REGISTRY}/${repository}:${t}`));
  const build = buildOf(
    repository,
    {
      tags,
      annotations: [
        { level: 'index', key: 'org.opencontainers.image.description', value: 'an app' },
        { level: 'manifest-descriptor', key: 'desc.all', value: 'every child' },
        { level: 'manifest-descriptor', key: 'desc.arm', value: 'arm only', platform: arm64 },
        { level: 'manifest', key: 'in.manifest', value: 'not in the index' },
      ],
    },
    [
      { platform: amd64, digest: d1, agent: 'x86-1', mode: 'native' },
      { platform: arm64, digest: d2, agent: 'pi-1', mode: 'emulated' },
    ],
  );
  const published = await publishBuild(new RegistryAccess([], { authFile: undefined, useHostDockerConfig: false }, logger), build, build.jobs, { attempts: 1, baseDelayMs: 1 }, logger);

  assert.equal(published.mediaType, MediaType.OciIndex);
  const fetched = await Promise.all(tags.map((t) => client.getManifest(repository, t.tag!)));
  for (const f of fetched) assert.equal(f.digest, published.digest, 'every tag names the one index');
  assert.equal(fetched[0]!.size, published.size);
  const index = fetched[0]!.json as Index;
  assert.deepEqual(index.annotations, { [ANNOTATION_BUILD_ID]: build.id, 'org.opencontainers.image.description': 'an app' });
  assert.deepEqual(
    index.manifests.map((m) => m.annotations),
    [
      { [ANNOTATION_AGENT]: 'x86-1', [ANNOTATION_MODE]: 'native', 'desc.all': 'every child' },
      { [ANNOTATION_AGENT]: 'pi-1', [ANNOTATION_MODE]: 'emulated', 'desc.all': 'every child', 'desc.arm': 'arm only' },
    ],
  );
  assert.deepEqual(index.manifests.map((m) => m.digest), [d1, d2]);
  assert.ok(!fetched[0]!.bytes.toString().includes('in.manifest'), 'manifest-level annotations are the agent’s to write, not the index’s');
  assert.deepEqual(manifestAnnotations(build, build.jobs[1]!), { 'in.manifest': 'not in the index' });
});

/** A client that counts the index PUTs and fails the n-th one, as a registry outage would. */
class CountingClient extends RegistryClient {
  puts: string[] = [];
  failAt = -1;
  override async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    if (this.puts.length === this.failAt) {
      this.failAt = -1;
      throw Object.assign(new Error('registry said 503'), { code: 'REGISTRY_UNAVAILABLE', kind: 'infrastructure' });
    }
    this.puts.push(reference);
    return super.putManifest(repository, reference, mediaType, bytes);
  }
}

test('each tag is written once, also when a retry follows a failure part-way', async (t) => {
  if (await missingRegistry(t)) return;
  const client = new CountingClient(REGISTRY);
  const repository = `archfarm-test/publish-${randomBytes(4).toString('hex')}`;
  const digest = await pushImage(client, repository, amd64);
  client.puts = [];
  const target = ImageRef.parse(`${REGISTRY}/${repository}:a`);
  const written = new Set<string>();
  client.failAt = 1;
  const opts = { client, target, moreTags: ['b', 'a', 'c'], images: [{ platform: amd64, digest }], written };
  await assert.rejects(publishIndex(opts), /503/);
  assert.deepEqual(client.puts, ['a']);
  const result = await publishIndex(opts);
  assert.deepEqual(client.puts, ['a', 'b', 'c'], 'the retry wrote only the tags the first try had not');
  assert.deepEqual(result.tags, ['a', 'b', 'c']);
  for (const tag of result.tags) assert.equal((await client.getManifest(repository, tag)).digest, result.digest);
});

test('nothing is written when a platform image is missing', async (t) => {
  if (await missingRegistry(t)) return;
  const client = new CountingClient(REGISTRY);
  const repository = `archfarm-test/publish-${randomBytes(4).toString('hex')}`;
  const good = await pushImage(client, repository, amd64);
  client.puts = [];
  const opts = { client, target: ImageRef.parse(`${REGISTRY}/${repository}:a`), moreTags: ['b'], images: [{ platform: amd64, digest: good }, { platform: arm64, digest: `sha256:${'e'.repeat(64)}` }] };
  await assert.rejects(publishIndex(opts), { code: 'PLATFORM_IMAGE_MISSING' });
  assert.deepEqual(client.puts, []);
});
