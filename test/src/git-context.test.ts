import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { TestGitRepo } from './support/git-daemon';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';
import { submitDetached, waitFor } from './support/builds';

const MANIFESTS = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** The content of `file` in the image's linux/amd64 layers, read from the registry (last layer holding it wins). */
async function fileInImage(ref: string, file: string): Promise<string> {
  const [, registry, repository, tag] = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref)!;
  const get = async (path: string) => {
    const res = await fetch(`http://${registry}/v2/${repository}/${path}`, { headers: { accept: MANIFESTS } });
    assert.equal(res.status, 200, `GET ${path}`);
    return res;
  };
  const index = (await (await get(`manifests/${tag}`)).json()) as { manifests: Array<{ digest: string; platform?: { architecture: string } }> };
  const amd64 = index.manifests.find((m) => m.platform?.architecture === 'amd64');
  assert.ok(amd64, `no linux/amd64 manifest in ${JSON.stringify(index)}`);
  const manifest = (await (await get(`manifests/${amd64.digest}`)).json()) as { layers: Array<{ digest: string }> };
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-layer-'));
  try {
    let found: string | undefined;
    for (const layer of manifest.layers) {
      const path = join(dir, 'layer');
      await writeFile(path, Buffer.from(await (await get(`blobs/${layer.digest}`)).arrayBuffer()));
      const listed = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).split('\n');
      if (listed.includes(file) || listed.includes(`./${file}`)) found = execFileSync('tar', ['-xOf', path, '--wildcards', `*${file}`], { encoding: 'utf8' });
    }
    assert.ok(found !== undefined, `no ${file} in the image's layers`);
    return found;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface WithGit {
  buildId: string;
  state: string;
  git: { url: string; ref: string | null; subdir: string | null; commit: string | null } | null;
}

/** A git context from a repository served on loopback by git daemon: built, commit recorded, moved on. */
describe('archfarm build GIT_URL#ref:subdir', () => {
  let fleet: TestFleet;
  let repo: TestGitRepo;

  before(async () => {
    testRegistry();
    repo = await TestGitRepo.start();
    fleet = await TestFleet.start([{ name: 'amd64', platforms: 'linux/amd64' }]);
  });

  after(async () => {
    await fleet?.stop();
    await repo?.stop();
  });

  const build = async (source: string, tag: string): Promise<WithGit> => {
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tag, source]);
    await waitFor(fleet, id, (b) => b.state !== 'running' && b.state !== 'publishing', 120_000, `build ${id}`);
    const res = await fleet.cli(['builds', 'inspect', id, '--output', 'json']);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as WithGit;
  };

  test('builds the ref:subdir tree, records its commit, and a new commit builds anew', async () => {
    const first = repo.commit({
      'sub/Dockerfile': 'FROM scratch\nCOPY message.txt /message.txt\n',
      'sub/message.txt': 'first commit\n',
      'README.md': 'outside the subdir\n',
    });
    const source = `${repo.url}#main:sub`;
    const tag1 = `${testRegistry()}/${uniqueRepository('git')}:1`;
    const one = await build(source, tag1);
    assert.equal(one.state, 'published', JSON.stringify(one));
    assert.deepEqual(one.git, { url: repo.url, ref: 'main', subdir: 'sub', commit: first });
    assert.equal(first, repo.revParse('main'));
    assert.equal(await fileInImage(tag1, 'message.txt'), 'first commit\n');

    const second = repo.commit({ 'sub/message.txt': 'second commit\n' });
    assert.notEqual(second, first);
    const tag2 = `${testRegistry()}/${uniqueRepository('git')}:2`;
    const two = await build(source, tag2);
    assert.equal(two.state, 'published', JSON.stringify(two));
    assert.equal(two.git?.commit, second);
    assert.equal(await fileInImage(tag2, 'message.txt'), 'second commit\n');

    const text = await fleet.cli(['builds', 'inspect', two.buildId]);
    assert.match(text.stdout, new RegExp(`^git +${repo.url.replace(/[.]/g, '\\.')}#main:sub$`, 'm'));
    assert.match(text.stdout, new RegExp(`^commit +${second}$`, 'm'));
  });

  test('a ref the repository lacks is refused, naming the field, and no build is stored', async () => {
    const before = JSON.parse((await fleet.cli(['builds', '--output', 'json'])).stdout) as unknown[];
    const tag = `${testRegistry()}/${uniqueRepository('git-bad')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, `${repo.url}#no-such-branch:sub`]);
    assert.equal(res.code, 2, `exit status 2 for bad input; stderr:\n${res.stderr}`);
    assert.match(res.stderr, /context: the repository git:\/\/127\.0\.0\.1:\d+\/repo\.git has no branch, tag or ref "no-such-branch"/);
    assert.equal(res.stdout, '');
    const after = JSON.parse((await fleet.cli(['builds', '--output', 'json'])).stdout) as unknown[];
    assert.equal(after.length, before.length, 'no build was stored');
    assert.notEqual((await skopeoInspect(tag)).code, 0, 'no tag was written');
    // The subdir is checked too.
    const sub = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, `${repo.url}#main:nope`]);
    assert.equal(sub.code, 2, sub.stderr);
    assert.match(sub.stderr, /context: .* has no directory "nope"/);
    assert.equal(((JSON.parse((await fleet.cli(['builds', '--output', 'json'])).stdout)) as unknown[]).length, before.length);
  });
});
