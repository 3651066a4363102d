import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../cli';
import { details } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { buildDetailsJson } from './build-details';
import { inspectLines } from './builds-inspect';

const URL = 'git://127.0.0.1:9418/repo.git';

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  // An empty working directory: a git context needs nothing local.
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-build-git-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/amd64', '-t', '127.0.0.1:5000/hello:1', '--detach', ...extra];
  return { fake, dir, args };
}

test('a git URL: nothing uploaded, the source sent, -f inside the subdir', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('-f', 'docker/Dockerfile', `${URL}#main:sub`), io), 0, io.stderr.text);
  assert.equal(io.stdout.text, 'b1\n');
  assert.equal(fake.uploads.length, 0);
  const sent = fake.submitted[0]!;
  assert.equal(sent.contextDigest, '');
  assert.equal(sent.dockerfile, 'docker/Dockerfile');
  assert.deepEqual(sent.git, { url: URL, ref: 'main', subdir: 'sub', commit: '' });
});

test('a git URL without ref or subdir: the remote HEAD, the root, ./Dockerfile', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args(URL), io), 0, io.stderr.text);
  assert.deepEqual(fake.submitted[0]!.git, { url: URL, ref: '', subdir: '', commit: '' });
  assert.equal(fake.submitted[0]!.dockerfile, 'Dockerfile');
});

test('refused before connecting: credentials in the URL, -f outside the repository', async (t) => {
  const { fake, dir, args } = await setup(t);
  const cases: [string[], RegExp][] = [
    [['https://me:s3cret@git.example/repo.git#main'], /^error: context: the git URL carries credentials/],
    [['-f', '../Dockerfile', `${URL}#main`], /^error: --file: "..\/Dockerfile" is not a file inside the repository/],
    [['file:///srv/repo.git'], /^error: CONTEXT_DIR: "file:\/\/\/srv\/repo.git" does not exist/],
  ];
  for (const [extra, message] of cases) {
    const io = testIo(dir);
    assert.equal(await runCli(args(...extra), io), 2, extra.join(' '));
    assert.match(io.stderr.text, message);
    assert.doesNotMatch(io.stderr.text, /s3cret/);
  }
  assert.equal(fake.submitted.length, 0);
});

test('builds inspect shows the git source and the commit built, in text and JSON', () => {
  const commit = 'c'.repeat(40);
  const b = details.build({ buildId: 'b3', git: { url: URL, ref: 'main', subdir: 'sub', commit } });
  const lines = inspectLines(b);
  assert.ok(lines.some((l) => /^git +git:\/\/127\.0\.0\.1:9418\/repo\.git#main:sub$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => new RegExp(`^commit +${commit}$`).test(l)), lines.join('\n'));
  assert.deepEqual(buildDetailsJson(b).git, { url: URL, ref: 'main', subdir: 'sub', commit });
  assert.equal(buildDetailsJson(details.build({ buildId: 'b4' })).git, null);
});
