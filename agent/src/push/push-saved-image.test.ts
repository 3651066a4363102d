/**
 * pushSavedImage on real `docker save` output of both engines `make setup` runs (Debian's
 * dockerd 20.10, and dockerd 26 with the containerd image store), into the real loopback
 * registry; every pushed image is pulled back by an engine, which checks its diff_ids.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { Parser, type ReadEntry } from 'tar';
import { MediaType, Platform, RegistryClient, type Manifest } from '@archfarm/common';
import { BASE_IMAGE, DOCKER_20, DOCKER_26, REGISTRY, build, call, engineMissing, pull, pushZstdCopy, removeImage, save, type TestEngine } from './engine-fixtures';
import { SavedImageInvalidError } from './errors';
import { OCI_LAYER_ZSTD } from './layer-compression';
import { pushSavedImage, type PushSavedImageOptions, type PushedImage } from './push-saved-image';

const client = new RegistryClient(REGISTRY);
const missing = new Map<TestEngine, string | false>();
const made: [TestEngine, string][] = [];
let workDir = '';
const run = randomBytes(4).toString('hex');

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'archfarm-push-test-'));
  for (const engine of [DOCKER_20, DOCKER_26]) {
    const why = await engineMissing(engine);
    missing.set(engine, why);
    if (why) console.warn(`\n*** SKIPPING the ${engine.name} tests: ${why} ***\n`);
  }
});

after(async () => {
  for (const [engine, ref] of made) await removeImage(engine, ref);
  await rm(workDir, { recursive: true, force: true });
});

/** Skips the test loudly when the engine is not there; true when it may run. */
function needs(t: TestContext, ...engines: TestEngine[]): boolean {
  const why = engines.map((e) => missing.get(e)).find(Boolean);
  if (why) t.skip(why);
  return !why;
}

const repo = (what: string): string => `test/push-${what}-${run}`;

async function push(engine: TestEngine, ref: string, repository: string, opts: Partial<PushSavedImageOptions> = {}): Promise<PushedImage> {
  return pushSavedImage(await save(engine, ref), { client, repository, workDir, ...opts });
}

async function manifestAt(repository: string, digest: string): Promise<Manifest> {
  return (await client.getManifest(repository, digest)).json as Manifest;
}

/** Pulls the pushed image into `engine`, which unpacks every layer and checks its diff_id. */
async function pullBack(engine: TestEngine, repository: string, digest: string, platform?: string): Promise<void> {
  const ref = `${REGISTRY}/${repository}@${digest}`;
  await pull(engine, ref, platform);
  made.push([engine, ref]);
}

/** [path, mtime in seconds] of every entry of a pushed layer, decompressed as its type says. */
async function layerTimes(repository: string, layer: { digest: string; mediaType: string }): Promise<[string, number][]> {
  const blob = await client.getBlob(repository, layer.digest, 64 << 20);
  const tar = layer.mediaType === OCI_LAYER_ZSTD ? Buffer.from(zstdDecompress(blob)) : gunzipSync(blob);
  const out: [string, number][] = [];
  const parser = new Parser({ strict: true, onReadEntry: (e: ReadEntry) => (out.push([e.path, (e.mtime?.getTime() ?? NaN) / 1000]), e.resume()) });
  await pipeline(Readable.from([tar]), parser);
  return out;
}

const context = (stamp: string): Record<string, string> => ({
  Dockerfile: `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\nRUN echo made > /made.txt && mkdir -p /d && echo x > /d/y\n`,
  'a.txt': `same content ${stamp}\n`,
});

test('dockerd 20.10: plain layer tars are gzipped, the config is the image ID, the engine pulls it back', async (t) => {
  if (!needs(t, DOCKER_20)) return;
  const name = `archfarm-fixture/push20:${run}`;
  await build(DOCKER_20, context(run), name);
  made.push([DOCKER_20, name]);
  const pushed = await push(DOCKER_20, name, repo('d20'));
  const manifest = await manifestAt(repo('d20'), pushed.digest);
  assert.equal(manifest.mediaType, MediaType.OciManifest);
  assert.equal(manifest.annotations, undefined, 'no annotations asked, none written');
  assert.equal(manifest.layers.length, 3);
  assert.ok(manifest.layers.every((l) => l.mediaType === MediaType.OciLayerGzip));
  const id = (JSON.parse((await call(DOCKER_20, 'GET', `/images/${encodeURIComponent(name)}/json`)).toString('utf8')) as { Id: string }).Id;
  assert.equal(pushed.configDigest, id, 'the config goes unchanged: its digest is the image ID');
  assert.equal(manifest.config.digest, id);
  await pullBack(DOCKER_20, repo('d20'), pushed.digest);
  assert.equal(pushed.platform.toString(), 'linux/amd64');
});

test('dockerd 26, containerd store: gzip layers go as the engine compressed them, with the manifest annotations', async (t) => {
  if (!needs(t, DOCKER_26)) return;
  const name = `archfarm-fixture/push26:${run}`;
  await build(DOCKER_26, context(run), name);
  made.push([DOCKER_26, name]);
  const pushed = await push(DOCKER_26, name, repo('d26'), { annotations: { 'org.example.z': '2', 'org.example.a': '1' } });
  const manifest = await manifestAt(repo('d26'), pushed.digest);
  assert.equal(manifest.mediaType, MediaType.OciManifest);
  assert.deepEqual(Object.entries(manifest.annotations ?? {}), [['org.example.a', '1'], ['org.example.z', '2']], 'annotations, sorted');
  const base = (await client.getManifest('archfarm/base', '1')).json as { manifests: { digest: string; platform: { architecture: string } }[] };
  const amd64 = (await manifestAt('archfarm/base', base.manifests.find((m) => m.platform.architecture === 'amd64')!.digest)).layers[0]!;
  assert.equal(manifest.layers[0]!.digest, amd64.digest, "the base layer is pushed as it is: the registry's own blob");
  assert.ok(manifest.layers.every((l) => l.mediaType === MediaType.OciLayerGzip));
  await pullBack(DOCKER_26, repo('d26'), pushed.digest);
  await pullBack(DOCKER_20, repo('d26'), pushed.digest);
});

test('dockerd 26, a pulled multi-platform image: index → index → the manifest of the asked platform', async (t) => {
  if (!needs(t, DOCKER_26)) return;
  await pull(DOCKER_26, BASE_IMAGE, 'linux/arm64');
  await pull(DOCKER_26, BASE_IMAGE, 'linux/amd64');
  const base = (await client.getManifest('archfarm/base', '1')).json as { manifests: { digest: string; platform: { architecture: string } }[] };
  for (const arch of ['arm64', 'amd64']) {
    const pushed = await push(DOCKER_26, BASE_IMAGE, repo('nested'), { platform: Platform.parse(`linux/${arch}`) });
    assert.equal(pushed.platform.toString(), `linux/${arch}`);
    const want = await manifestAt('archfarm/base', base.manifests.find((m) => m.platform.architecture === arch)!.digest);
    const got = await manifestAt(repo('nested'), pushed.digest);
    assert.equal(got.config.digest, want.config.digest);
    assert.deepEqual(got.layers.map((l) => l.digest), want.layers.map((l) => l.digest));
  }
  await assert.rejects(push(DOCKER_26, BASE_IMAGE, repo('nested')), SavedImageInvalidError, 'several platforms and none asked for');
  // With an epoch every layer is rewritten and gzipped again, unless it is the base's (kept
  // as BuildKit keeps it, so it stays the registry's blob).
  const amd64 = Platform.parse('linux/amd64');
  const want = await manifestAt('archfarm/base', base.manifests.find((m) => m.platform.architecture === 'amd64')!.digest);
  const diffIds = (JSON.parse((await client.getBlob('archfarm/base', want.config.digest, 1 << 20)).toString('utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  const kept = await push(DOCKER_26, BASE_IMAGE, repo('nested'), { platform: amd64, epoch: 0, keepDiffIds: new Set(diffIds) });
  const redone = await push(DOCKER_26, BASE_IMAGE, repo('nested'), { platform: amd64, epoch: 0 });
  assert.deepEqual((await manifestAt(repo('nested'), kept.digest)).layers.map((l) => l.digest), want.layers.map((l) => l.digest));
  assert.notDeepEqual((await manifestAt(repo('nested'), redone.digest)).layers.map((l) => l.digest), want.layers.map((l) => l.digest));
});

test('dockerd 26, zstd layers: pushed as zstd as they are; with an epoch decompressed, clamped and gzipped', async (t) => {
  if (!needs(t, DOCKER_20, DOCKER_26)) return;
  // Layers new to dockerd 26, made on 20.10 and pushed by the code under test, then made zstd.
  const name = `archfarm-fixture/zstd-src:${run}`;
  await build(DOCKER_20, { Dockerfile: 'FROM scratch\nCOPY a.txt b.txt /\n', 'a.txt': `zstd ${run}\n`, 'b.txt': 'b\n'.repeat(5000) }, name);
  made.push([DOCKER_20, name]);
  const source = await push(DOCKER_20, name, repo('zstd-src'));
  const ref = `${REGISTRY}/${repo('zstd')}:source`;
  await pushZstdCopy(`${REGISTRY}/${repo('zstd-src')}@${source.digest}`, ref);
  const zstdLayer = (await manifestAt(repo('zstd'), 'source')).layers[0]!;
  assert.equal(zstdLayer.mediaType, OCI_LAYER_ZSTD, 'skopeo made a zstd layer');
  await pull(DOCKER_26, ref);
  made.push([DOCKER_26, ref]);

  const asIs = await push(DOCKER_26, ref, repo('zstd'));
  assert.deepEqual((await manifestAt(repo('zstd'), asIs.digest)).layers[0], { ...zstdLayer }, 'the same blob, digest and type');
  const rewritten = await push(DOCKER_26, ref, repo('zstd'), { epoch: 0 });
  const gz = (await manifestAt(repo('zstd'), rewritten.digest)).layers[0]!;
  assert.equal(gz.mediaType, MediaType.OciLayerGzip);
  const times = await layerTimes(repo('zstd'), gz);
  assert.deepEqual(times.map(([path]) => path).sort(), ['a.txt', 'b.txt']);
  assert.ok(times.every(([, mtime]) => mtime === 0), JSON.stringify(times));
  await pullBack(DOCKER_26, repo('zstd'), asIs.digest);
  await pullBack(DOCKER_20, repo('zstd'), rewritten.digest);
});

for (const engine of [DOCKER_20, DOCKER_26]) {
  test(`${engine.name}: with SOURCE_DATE_EPOCH, two builds at different times give one manifest digest`, async (t) => {
    if (!needs(t, engine)) return;
    const names = [`archfarm-fixture/repro-a:${run}`, `archfarm-fixture/repro-b:${run}`];
    for (const name of names) {
      // Apart by more than a second: every file the build writes gets another mtime.
      await new Promise((r) => setTimeout(r, 1100));
      await build(engine, context('repro'), name, { noCache: true, buildArgs: { SOURCE_DATE_EPOCH: '0' } });
      made.push([engine, name]);
    }
    const plain = await Promise.all(names.map((n) => push(engine, n, repo('repro'))));
    assert.notEqual(plain[0]!.digest, plain[1]!.digest, 'without the rewrite the two builds differ');
    const [a, b] = await Promise.all(names.map((n) => push(engine, n, repo('repro'), { epoch: 0, annotations: { k: 'v' } })));
    assert.equal(a!.digest, b!.digest, 'the same manifest digest');
    const manifest = await manifestAt(repo('repro'), a!.digest);
    const config = JSON.parse((await client.getBlob(repo('repro'), manifest.config.digest, 1 << 20)).toString('utf8')) as { created?: string; history: { created?: string }[] };
    if (config.created !== undefined) assert.equal(config.created, '1970-01-01T00:00:00Z');
    assert.ok(config.history.every((h) => h.created === '1970-01-01T00:00:00Z'));
    for (const layer of manifest.layers) {
      assert.ok((await layerTimes(repo('repro'), layer)).every(([, mtime]) => mtime === 0), `${layer.digest}: every time clamped to 0`);
    }
    await pullBack(engine, repo('repro'), a!.digest);
  });
}
