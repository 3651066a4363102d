import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { runCli } from '../cli';
import { details } from '../testing/details';
import { ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const NATIVE = BuildMode.BUILD_MODE_NATIVE;

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-build-flags-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/arm64,linux/s390x', '-t', '127.0.0.1:5000/hello:1', ...extra, '.'];
  return { fake, dir, args };
}

const S390X_FAILED = { code: 'BUILD_STEP_FAILED', message: 'linux/s390x: RUN make: exit code 2', kind: 'build' };
const partial = ev.finished({
  state: BuildState.BUILD_STATE_PUBLISHED,
  digest: DIGEST,
  tag: '127.0.0.1:5000/hello:1',
  platforms: [{ platform: 'linux/arm64', digest: 'sha256:2', agent: 'pi-1', mode: NATIVE, bases: [] }],
  leftOut: [{ platform: 'linux/s390x', error: S390X_FAILED }],
});

test('--timeout, --allow-partial and --smoke reach SubmitBuild', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => {
    call.write(ev.finished({ digest: DIGEST }));
    call.end();
  };
  const io = testIo(dir);
  assert.equal(await runCli(args('--timeout', '1h30m', '--allow-partial', '--smoke', `sh -c 'uname -m | grep -q 64'`), io), 0, io.stderr.text);
  const [sent] = fake.submitted;
  assert.equal(sent?.timeoutSeconds, 5400);
  assert.equal(sent?.allowPartial, true);
  assert.deepEqual(sent?.smokeCommand, ['sh', '-c', 'uname -m | grep -q 64']);
});

test('--detach: the build id is the only stdout line; nothing is watched', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--detach'), io), 0, io.stderr.text);
  assert.equal(io.stdout.text, 'b1\n');
  assert.equal(fake.watchers.length, 0);
  assert.equal(io.stderr.lines.at(-1), 'build b1: linux/arm64, linux/s390x');

  const json = testIo(dir);
  assert.equal(await runCli(args('--detach', '--output', 'json', '--progress', 'quiet'), json), 0);
  assert.deepEqual(JSON.parse(json.stdout.text), { buildId: 'b2' });
  assert.equal(json.stderr.text, '');
});

test('a partial publish: the digest, a warning per left-out platform, exit 4', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => {
    call.write(partial);
    call.end();
  };
  const io = testIo(dir);
  assert.equal(await runCli(args('--allow-partial', '--progress', 'quiet'), io), 4);
  assert.equal(io.stdout.text, `${DIGEST}\n`);
  assert.equal(io.stderr.text, 'warning: linux/s390x left out: RUN make: exit code 2 (build)\n');

  const json = testIo(dir);
  assert.equal(await runCli(args('--allow-partial', '--output', 'json', '--progress', 'json'), json), 4);
  assert.deepEqual(JSON.parse(json.stdout.text), {
    digest: DIGEST,
    tag: '127.0.0.1:5000/hello:1',
    tags: ['127.0.0.1:5000/hello:1'],
    platforms: [{ platform: 'linux/arm64', digest: 'sha256:2', agent: 'pi-1', mode: 'native' }],
    leftOut: [{ platform: 'linux/s390x', error: S390X_FAILED }],
  });
  const last = JSON.parse(json.stderr.lines.at(-1)!) as unknown;
  assert.deepEqual(last, {
    type: 'warning',
    code: 'PUBLISHED_PARTIALLY',
    message: 'build b2 was published without linux/s390x',
    leftOut: [{ platform: 'linux/s390x', error: S390X_FAILED }],
    exitCode: 4,
  });
});

test('an infrastructure failure says how many attempts it took, from InspectBuild', async (t) => {
  const { fake, dir, args } = await setup(t);
  const error = { code: 'AGENT_LOST', message: 'linux/s390x: agent builder-b stopped renewing its lease', kind: 'infrastructure' };
  const lost = { outcome: 'lost', error };
  fake.builds.set(
    'b1',
    details.build({
      state: BuildState.BUILD_STATE_FAILED,
      platforms: [details.platform('linux/s390x', { state: JobState.JOB_STATE_FAILED, error, attempts: [1, 2, 3].map((n) => details.attempt(n, lost)) })],
    }),
  );
  fake.watch = (call) => {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_FAILED, error, failedPlatform: 'linux/s390x' }));
    call.end();
  };
  const io = testIo(dir);
  assert.equal(await runCli(args('--progress', 'quiet'), io), 1);
  assert.equal(io.stderr.lines.at(-1), 'error: linux/s390x failed (infrastructure error, after 3 attempts): agent builder-b stopped renewing its lease');

  // Without InspectBuild's answer, the kind is still said.
  fake.builds.clear();
  const io2 = testIo(dir);
  assert.equal(await runCli(args('--progress', 'quiet'), io2), 1);
  assert.equal(io2.stderr.lines.at(-1), 'error: linux/s390x failed (infrastructure error): agent builder-b stopped renewing its lease');
});
