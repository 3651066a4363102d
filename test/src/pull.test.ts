import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

/**
 * The build records the FROM image each platform was built from, as the engine resolved it,
 * and `--pull` (buildx's meaning: resolve and fetch FROM images afresh) reaches the engine.
 */
let fleet: TestFleet;
let scratch: string;

before(async () => {
  testRegistry();
  scratch = await mkdtemp(join(tmpdir(), 'archfarm-pull-'));
  fleet = await TestFleet.start([{ name: 'pull-agent', platforms: 'linux/amd64' }]);
});

after(async () => {
  await fleet?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function copyAll(from: string, to: string): Promise<string> {
  const res = await run('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${from}`, `docker://${to}`]);
  assert.equal(res.code, 0, res.stderr);
  const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${to}`]);
  assert.equal(raw.code, 0, raw.stderr);
  return raw.stdout.trim();
}

type Bases = Array<{ ref: string; digest: string }>;

/** Builds for amd64; resolves to each platform's bases as --metadata-file says, and the build id. */
async function build(context: string, tag: string, extra: string[]): Promise<{ id: string; bases: Bases[] }> {
  const meta = join(scratch, `${tag.replace(/\W/g, '_')}.json`);
  const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, ...extra, '--metadata-file', meta, context]);
  assert.equal(res.code, 0, res.stderr);
  const json = JSON.parse(await readFile(meta, 'utf8')) as { 'archfarm.build': string; 'archfarm.platforms': Array<{ bases: Bases }> };
  return { id: json['archfarm.build'], bases: json['archfarm.platforms'].map((p) => p.bases) };
}

test('each build records the base digest it used; after the base tag moves, a --pull build is FROM the new one', async () => {
  const repo = `${testRegistry()}/${uniqueRepository('pull')}`;
  const base = `${repo}:base`;
  const first = await copyAll(baseImage(), base);
  const context = await makeContext({ Dockerfile: `FROM ${base}\nRUN echo app > /app\n` });
  const used = await build(context, `${repo}:app1`, []);
  assert.deepEqual(used.bases, [[{ ref: base, digest: first }]], 'the base as the registry named it then');

  // Move the base tag to another image: one archfarm builds on top of the first base.
  const other = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo newer > /newer\n` });
  await build(other, `${repo}:newer`, []);
  const second = await copyAll(`${repo}:newer`, base);
  assert.notEqual(second, first);

  // dockerd's BuildKit looks a FROM tag up in the registry on every build, so even without
  // --pull the moved tag is seen (what --pull adds there is fetching the layers again).
  const again = await build(context, `${repo}:app1b`, []);
  assert.deepEqual(again.bases, [[{ ref: base, digest: second }]]);
  const pulled = await build(context, `${repo}:app2`, ['--pull']);
  assert.deepEqual(pulled.bases, [[{ ref: base, digest: second }]], '--pull used the base the tag names now');
  // The record keeps it: builds inspect shows the base each platform was built from.
  const inspect = await fleet.cli(['builds', 'inspect', pulled.id, '--output', 'json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const details = JSON.parse(inspect.stdout) as { platforms: Array<{ bases: Bases }> };
  assert.deepEqual(details.platforms.map((p) => p.bases), [[{ ref: base, digest: second }]]);
  // The image really is FROM the newer base.
  const config = await skopeoInspect(`${repo}:app2`, '--config');
  assert.equal(config.code, 0, config.stderr);
  const newer = await skopeoInspect(`${repo}:newer`, '--config');
  const layers = (text: string) => (JSON.parse(text) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  assert.deepEqual(layers(config.stdout).slice(0, layers(newer.stdout).length), layers(newer.stdout));
});
