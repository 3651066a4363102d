import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../cli';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.plan = () => [];
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-cross-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/amd64,linux/arm64', '-t', '127.0.0.1:5000/hello:1', ...extra, '.'];
  return { fake, dir, args };
}

test('--cross-check goes in the request, normalised, repeatable and comma-separated', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--plan', '--cross-check', 'linux/aarch64', '--cross-check', 'linux/amd64,linux/arm64'), io), 0, io.stderr.text);
  assert.deepEqual(fake.planned[0]?.crossCheck, ['linux/arm64', 'linux/amd64']);
  const none = testIo(dir);
  assert.equal(await runCli(args('--plan'), none), 0, none.stderr.text);
  assert.deepEqual(fake.planned[1]?.crossCheck, []);
});

test('--cross-check of a platform the build lacks: exit 2 naming the flag and the fix, nothing sent', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--cross-check', 'linux/s390x'), io), 2);
  assert.match(io.stderr.text, /--cross-check: linux\/s390x is not a platform of this build \(linux\/amd64,linux\/arm64\); add it to --platform or drop --cross-check linux\/s390x/);
  assert.equal(fake.uploads.length, 0);
});
