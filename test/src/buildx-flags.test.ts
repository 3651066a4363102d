import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

// A `docker buildx build` line from CI, run on the farm: several tags, --label, --annotation,
// --metadata-file. What was published is read back with skopeo, an independent client.
const PLATFORMS = ['linux/amd64', 'linux/arm64'];

interface Index {
  mediaType: string;
  manifests: { digest: string; platform?: { architecture: string } }[];
  annotations?: Record<string, string>;
}

describe('buildx flags on a real fleet', { timeout: 10 * 60_000 }, () => {
  let fleet: TestFleet;
  let dir: string;
  let repo: string;
  let tags: string[];
  let stdout: Record<string, unknown>;
  let meta: Record<string, unknown>;

  before(async () => {
    fleet = await TestFleet.start([{ name: 'both', platforms: PLATFORMS.join(',') }]);
    dir = await mkdtemp(join(tmpdir(), 'archfarm-buildx-e2e-'));
    repo = `${testRegistry()}/${uniqueRepository('buildx')}`;
    tags = [`${repo}:1.4`, `${repo}:latest`];
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nLABEL from.dockerfile=yes\nRUN echo built > /built\n` });
    const res = await fleet.cli([
      'build', '--platform', PLATFORMS.join(','), '-t', tags[0]!, '-t', tags[1]!,
      '--label', 'org.opencontainers.image.version=1.4', '--annotation', 'index:org.opencontainers.image.description=from the farm',
      '--push', '--metadata-file', join(dir, 'meta.json'), '--iidfile', join(dir, 'iid'), '--output', 'json', '--progress', 'plain', ctx,
    ]);
    assert.equal(res.code, 0, res.stderr);
    stdout = JSON.parse(res.stdout) as Record<string, unknown>;
    meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  });
  after(async () => {
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function raw(ref: string): Promise<string> {
    const res = await skopeoInspect(ref);
    assert.equal(res.code, 0, `skopeo inspect ${ref}: ${res.stderr}`);
    return res.stdout;
  }
  const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

  test('-t a -t b: both tags point at the same index, the one --output json and --iidfile name', async () => {
    const [a, b] = await Promise.all(tags.map(raw));
    assert.equal(sha256(a!), sha256(b!), 'the same index bytes under both tags');
    assert.equal(sha256(a!), stdout.digest);
    assert.deepEqual(stdout.tags, tags);
    assert.equal(stdout.tag, tags[0]);
    assert.equal(await readFile(join(dir, 'iid'), 'utf8'), stdout.digest);
  });

  test("--metadata-file parses, with buildx's keys; its digest and descriptor are the tags' index", async () => {
    const index = await raw(tags[0]!);
    assert.equal(meta['containerimage.digest'], sha256(index));
    assert.equal(meta['image.name'], tags.join(','));
    assert.deepEqual(meta['containerimage.descriptor'], { mediaType: (JSON.parse(index) as Index).mediaType, digest: sha256(index), size: Buffer.byteLength(index) });
    assert.match(String(meta['archfarm.build']), /\S/);
    const platforms = meta['archfarm.platforms'] as { platform: string; digest: string; agent: string; mode: string }[];
    assert.deepEqual(platforms.map((p) => p.platform).sort(), [...PLATFORMS].sort());
    for (const p of platforms) assert.equal(p.agent, 'both');
  });

  test('--annotation index:k=v is on the index', async () => {
    const index = JSON.parse(await raw(tags[0]!)) as Index;
    assert.equal(index.annotations?.['org.opencontainers.image.description'], 'from the farm');
  });

  test('--label is in each child config, beside the Dockerfile\'s, and no io.archfarm label is in any', async () => {
    const index = JSON.parse(await raw(tags[0]!)) as Index;
    const children = index.manifests.filter((m) => m.platform?.architecture !== 'unknown');
    assert.equal(children.length, PLATFORMS.length);
    for (const child of children) {
      const res = await skopeoInspect(`${repo}@${child.digest}`, '--config');
      assert.equal(res.code, 0, res.stderr);
      const labels = (JSON.parse(res.stdout) as { config?: { Labels?: Record<string, string> | null } }).config?.Labels ?? {};
      assert.equal(labels['org.opencontainers.image.version'], '1.4', `${child.digest}: ${JSON.stringify(labels)}`);
      assert.equal(labels['from.dockerfile'], 'yes');
      const farm = Object.keys(labels).filter((k) => k.startsWith('io.archfarm'));
      assert.deepEqual(farm, [], `${child.digest} carries no io.archfarm label`);
    }
  });
});
