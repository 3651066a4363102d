import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { MediaType, Platform, RegistryClient, sha256Digest, type Manifest } from '@archfarm/common';
import { pushSavedImage } from '@archfarm/agent';
import { buildScratchImage } from './support/docker';
import { listTags } from './support/oci-fixture';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const docker = new Docker();
let imageId = '';
let workDir = '';

before(async () => {
  testRegistry();
  const stamp = `${Date.now()}-${Math.random()}`;
  imageId = await buildScratchImage(docker, { 'a.txt': `first layer ${stamp}\n`, 'b.txt': 'second layer\n'.repeat(10_000) }, 'push-saved-image');
  workDir = await mkdtemp(join(tmpdir(), 'archfarm-push-'));
});

after(async () => {
  if (imageId) await docker.getImage(imageId).remove({ force: true }).catch(() => undefined);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function push(client: RegistryClient, repository: string, lines: string[]): ReturnType<typeof pushSavedImage> {
  const saved = (await docker.getImage(imageId).get()) as unknown as Readable;
  return pushSavedImage(saved, { client, repository, workDir, onProgress: (line) => lines.push(line) });
}

test('pushes a saved image by digest: right config and platform, no tag', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('push');
  const lines: string[] = [];
  const pushed = await push(client, repo, lines);
  const engine = await docker.version();
  assert.ok(pushed.platform.equals(Platform.of(engine.Os, engine.Arch, undefined)), `${pushed.platform.toString()} is the engine's platform`);
  assert.equal(pushed.mediaType, MediaType.OciManifest);
  assert.deepEqual(await readdir(workDir), [], 'the scratch directory is cleaned up');

  const raw = await skopeoInspect(`${registry}/${repo}@${pushed.digest}`);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(sha256Digest(Buffer.from(raw.stdout)), pushed.digest);
  assert.equal(Buffer.byteLength(raw.stdout), pushed.size);
  const manifest = JSON.parse(raw.stdout) as Manifest;
  assert.equal(manifest.config.digest, imageId, 'the config is unchanged, so the image ID is its digest');
  assert.equal(manifest.layers.length, 2);
  assert.ok(manifest.layers.every((l) => l.mediaType === MediaType.OciLayerGzip));
  const config = await skopeoInspect(`${registry}/${repo}@${pushed.digest}`, '--config');
  assert.equal(config.code, 0, config.stderr);
  const fields = JSON.parse(config.stdout) as { os: string; architecture: string };
  assert.equal(`${fields.os}/${fields.architecture}`, pushed.platform.toString());
  assert.deepEqual(await listTags(registry, repo), [], 'pushing by digest made no tag');
  assert.ok(lines.some((l) => l.includes('uploaded')), lines.join('\n'));
});

test('a second push skips the layers the registry has and gives the same digest; the engine pulls it back', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('push');
  const first = await push(client, repo, []);
  const lines: string[] = [];
  const second = await push(client, repo, lines);
  assert.equal(second.digest, first.digest, 'compression is deterministic');
  assert.equal(lines.filter((l) => l.includes('already in the registry')).length, 2, lines.join('\n'));

  // The engine unpacks the layers and checks them against the config's diff_ids.
  const ref = `${registry}/${repo}@${first.digest}`;
  const pull = await docker.pull(ref);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(pull, (err) => (err ? reject(err) : resolve())));
  const pulled = await docker.getImage(ref).inspect();
  assert.equal(pulled.Id, imageId);
  assert.deepEqual(await listTags(registry, repo), []);
});
