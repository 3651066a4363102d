import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { BuildState } from '@archfarm/proto';
import { runCli } from '../cli';
import { ExitCode } from '../exit-codes';
import { ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

const PASSWORD = 'pa:ss-Sup3rSecret';
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A build dir and a Docker config dir whose config.json holds `auths`. */
async function setup(t: { after: (fn: () => unknown) => void }, auths: Record<string, object>) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.watch = (call) => {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest: `sha256:${'d'.repeat(64)}` }));
    call.end();
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-build-auth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  await mkdir(path.join(dir, 'docker'));
  await writeFile(path.join(dir, 'docker', 'config.json'), JSON.stringify({ auths }));
  const io = (env: Record<string, string> = {}) => testIo(dir, { ARCHFARM_COORDINATOR: fake.address, DOCKER_CONFIG: path.join(dir, 'docker'), ...env });
  return { fake, dir, io };
}

const build = (tag: string, ...extra: string[]) => ['build', '--platform', 'linux/amd64', '-t', tag, ...extra, '.'];

/** Nothing the command wrote may hold the password, in any encoding Docker keeps it in. */
function assertNoPassword(io: { stdout: { text: string }; stderr: { text: string } }): void {
  for (const text of [io.stdout.text, io.stderr.text]) {
    assert.ok(!text.includes('Sup3rSecret') && !text.includes(b64(`ci:${PASSWORD}`)), text);
  }
}

test("build sends the tag's registry credentials from the Docker config with SubmitBuild only with --forward-credentials, never with a plan", async (t) => {
  const { fake, io } = await setup(t, { '127.0.0.1:5000': { auth: b64(`ci:${PASSWORD}`) }, 'other.example': { auth: b64('x:y') } });
  const plain = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1'), plain), 0, plain.stderr.text);
  assert.equal(fake.submitted[0]?.registryAuth, undefined, 'nothing is forwarded unless asked');

  const run = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--forward-credentials'), run), 0, run.stderr.text);
  assert.deepEqual(fake.submitted[1]?.registryAuth, { registry: '127.0.0.1:5000', username: 'ci', password: PASSWORD });
  assertNoPassword(run);

  const plan = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--plan', '--forward-credentials'), plan), 0, plan.stderr.text);
  assert.equal(fake.planned[0]?.registryAuth, undefined);

  const skipped = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--no-docker-config'), skipped), 0, skipped.stderr.text);
  assert.equal(fake.submitted[2]?.registryAuth, undefined);

  const both = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--no-docker-config', '--forward-credentials'), both), ExitCode.badInput);
  assert.match(both.stderr.text, /--forward-credentials.*--no-docker-config/);
  assert.equal(fake.submitted.length, 3);
});

test("Docker Hub tags find Docker's own key; registries without an entry send nothing", async (t) => {
  const { fake, io } = await setup(t, { 'https://index.docker.io/v1/': { username: 'hubber', password: PASSWORD } });
  assert.equal(await runCli(build('team/app:1', '--forward-credentials'), io()), 0);
  assert.deepEqual(fake.submitted[0]?.registryAuth, { registry: 'registry-1.docker.io', username: 'hubber', password: PASSWORD });
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--forward-credentials'), io()), 0);
  assert.equal(fake.submitted[1]?.registryAuth, undefined);
});

test('an unusable Docker config is exit 2 naming the file, before anything is sent (and not read at all without --forward-credentials)', async (t) => {
  const { fake, dir, io } = await setup(t, { '127.0.0.1:5000': { auth: b64('no-colon-Sup3rSecret') } });
  const unread = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1'), unread), 0, unread.stderr.text);
  fake.auth.calls.length = 0;
  const run = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--forward-credentials'), run), ExitCode.badInput);
  assert.equal(run.stderr.text, `error: Docker config ${path.join(dir, 'docker', 'config.json')} is not valid: auths["127.0.0.1:5000"].auth is not base64 of "user:password"\n`);
  assert.deepEqual(fake.auth.calls, []);
  assertNoPassword(run);
});

test('a viewer may not build: exit 5 with the reason, and the password still appears nowhere', async (t) => {
  const { fake, io } = await setup(t, { '127.0.0.1:5000': { auth: b64(`ci:${PASSWORD}`) } });
  fake.auth.roles.set('af_viewer', 'viewer');
  fake.auth.refuse = (rpc, role) =>
    role === 'viewer' && ['UploadContext', 'SubmitBuild'].includes(rpc) ? { code: status.PERMISSION_DENIED, details: "this token's role viewer may not submit builds" } : undefined;
  for (const progress of ['plain', 'json']) {
    const run = io({ ARCHFARM_TOKEN: 'af_viewer' });
    assert.equal(await runCli(build('127.0.0.1:5000/hello:1', '--progress', progress, '--forward-credentials'), run), ExitCode.notAllowed);
    const last = run.stderr.lines.at(-1)!;
    if (progress === 'plain') assert.equal(last, "error: this token's role viewer may not submit builds");
    else assert.deepEqual(JSON.parse(last), { type: 'error', code: 'NOT_ALLOWED', message: "this token's role viewer may not submit builds", exitCode: 5 });
    assertNoPassword(run);
  }
  assert.deepEqual(fake.submitted, []);
});
