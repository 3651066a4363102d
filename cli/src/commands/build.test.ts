import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, status, type ServerWritableStream } from '@grpc/grpc-js';
import { BuildMode, BuildState, JobState, type BuildEvent, type WatchBuildRequest } from '@archfarm/proto';
import { runCli } from '../cli';
import { ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const EMU = BuildMode.BUILD_MODE_EMULATED;
const NATIVE = BuildMode.BUILD_MODE_NATIVE;

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-build-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/amd64,linux/arm64', '-t', '127.0.0.1:5000/hello:1', ...extra, '.'];
  return { fake, dir, args };
}

/** Sends the final event and ends the stream, as the coordinator does. (end()'s argument is trailers.) */
function finish(call: ServerWritableStream<WatchBuildRequest, BuildEvent>, event: BuildEvent): void {
  call.write(event);
  call.end();
}

const published = ev.finished({
  state: BuildState.BUILD_STATE_PUBLISHED,
  digest: DIGEST,
  tag: '127.0.0.1:5000/hello:1',
  platforms: [
    { platform: 'linux/amd64', digest: 'sha256:1', agent: 'x86-1', mode: NATIVE, bases: [] },
    { platform: 'linux/arm64', digest: 'sha256:2', agent: 'pi-1', mode: EMU, bases: [] },
  ],
});

test('a published build: uploads, submits, shows progress on stderr, the digest alone on stdout', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => {
    call.write(ev.job('linux/arm64', JobState.JOB_STATE_ASSIGNED, { agent: 'pi-1', mode: EMU }));
    call.write(ev.log('linux/arm64', 'pi-1', EMU, 'Step 1/2\n'));
    call.write(ev.job('linux/arm64', JobState.JOB_STATE_SUCCEEDED, { agent: 'pi-1', mode: EMU, digest: 'sha256:2' }));
    finish(call, published);
  };
  const io = testIo(dir);
  assert.equal(await runCli(args('--build-arg', 'V=1', '--target', 'app', '--wait-timeout', '90'), io), 0, io.stderr.text);
  assert.equal(io.stdout.text, `${DIGEST}\n`);
  assert.deepEqual(fake.submitted, [
    {
      platforms: ['linux/amd64', 'linux/arm64'],
      tag: '127.0.0.1:5000/hello:1',
      contextDigest: fake.uploads[0]!.sha256,
      dockerfile: 'Dockerfile',
      buildArgs: { V: '1' },
      target: 'app',
      waitTimeoutSeconds: 90,
      timeoutSeconds: 0,
      allowPartial: false,
      smokeCommand: [],
      emulation: 'prefer-native',
      requireLabels: {},
      registryAuth: undefined,
      tags: ['127.0.0.1:5000/hello:1'],
      labels: {},
      annotations: [],
      pull: false,
      noCache: false,
      secrets: [],
      // An uploaded directory: no git source.
      git: undefined,
      noProvenance: false,
      crossCheck: [],
    },
  ]);
  assert.deepEqual(fake.watchers.map((c) => c.request), [{ buildId: 'b1', resume: false, logs: [] }]);
  assert.match(io.stderr.lines[0]!, /^uploading context \d+(\.\d)? kB$/);
  assert.deepEqual(io.stderr.lines.slice(1), [
    'build b1: linux/amd64, linux/arm64',
    '[linux/arm64] assigned to pi-1 (emulated)',
    '[linux/arm64 pi-1 emulated] Step 1/2',
    '[linux/arm64] pushed sha256:2',
    'published 127.0.0.1:5000/hello:1',
  ]);

  // Same context again: not uploaded twice.
  const again = testIo(dir);
  assert.equal(await runCli(args(), again), 0);
  assert.equal(fake.uploads.length, 1);
  assert.equal(again.stderr.lines[0], `context ${fake.uploads[0]!.sha256} already on the coordinator`);
});

test('--output json prints one object with the index and each platform', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => finish(call, published);
  const io = testIo(dir);
  assert.equal(await runCli(args('--output', 'json', '--progress', 'quiet'), io), 0);
  assert.equal(io.stderr.text, '');
  assert.deepEqual(JSON.parse(io.stdout.text), {
    digest: DIGEST,
    tag: '127.0.0.1:5000/hello:1',
    tags: ['127.0.0.1:5000/hello:1'],
    platforms: [
      { platform: 'linux/amd64', digest: 'sha256:1', agent: 'x86-1', mode: 'native' },
      { platform: 'linux/arm64', digest: 'sha256:2', agent: 'pi-1', mode: 'emulated' },
    ],
    leftOut: [],
  });
});

test('a failed platform: its last log lines, then "error: <platform> failed (<kind> error): ...", exit 1', async (t) => {
  const { fake, dir, args } = await setup(t);
  const error = { code: 'BUILD_STEP_FAILED', message: 'linux/s390x: RUN make: exit code 2', kind: 'build' };
  fake.watch = (call) => {
    call.write(ev.job('linux/s390x', JobState.JOB_STATE_RUNNING, { agent: 'builder-b', mode: EMU }));
    call.write(ev.log('linux/s390x', 'builder-b', EMU, Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n')));
    call.write(ev.job('linux/s390x', JobState.JOB_STATE_FAILED, { agent: 'builder-b', mode: EMU, error }));
    finish(call, ev.finished({ state: BuildState.BUILD_STATE_FAILED, error, failedPlatform: 'linux/s390x' }));
  };
  const io = testIo(dir);
  assert.equal(await runCli(args('--progress', 'quiet'), io), 1);
  assert.equal(io.stdout.text, '');
  const lines = io.stderr.lines;
  assert.equal(lines[0], '--- last log lines of linux/s390x (builder-b, emulated) ---');
  assert.equal(lines[1], 'line 10');
  assert.equal(lines[30], 'line 39');
  assert.equal(lines[31], '---');
  assert.equal(lines.at(-1), 'error: linux/s390x failed (build error): RUN make: exit code 2');
});

test('--progress json keeps stderr to JSON lines, the error included', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) =>
    finish(call, ev.finished({ state: BuildState.BUILD_STATE_FAILED, error: { code: 'PUSH_INDEX', message: 'registry said 500', kind: 'infrastructure' } }));
  const io = testIo(dir);
  assert.equal(await runCli(args('--progress', 'json'), io), 1);
  const objects = io.stderr.lines.map((l) => JSON.parse(l) as { type: string });
  assert.deepEqual(objects.map((o) => o.type), ['context', 'submitted', 'finished', 'error']);
  assert.deepEqual(objects.at(-1), { type: 'error', code: 'BUILD_FAILED', message: 'build b1 failed (infrastructure error): registry said 500', exitCode: 1 });
});

// A stream that ends before `finished` is re-attached: build-reattach.test.ts.
test('a build cancelled elsewhere exits 1', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => finish(call, ev.finished({ state: BuildState.BUILD_STATE_CANCELLED }));
  const io = testIo(dir);
  assert.equal(await runCli(args(), io), 1);
  assert.equal(io.stderr.lines.at(-1), 'error: build b1 was cancelled');
});

test("the coordinator's INVALID_ARGUMENT is bad input (exit 2) in its own words; its UNAVAILABLE is not 'cannot reach'", async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.submitError = { code: status.INVALID_ARGUMENT, details: 'platform: no agent can ever build linux/riscv64' };
  const io = testIo(dir);
  assert.equal(await runCli(args(), io), 2);
  assert.equal(io.stderr.lines.at(-1), 'error: platform: no agent can ever build linux/riscv64');

  const metadata = new Metadata();
  metadata.set('archfarm-code', 'REGISTRY_UNREACHABLE');
  fake.submitError = { code: status.UNAVAILABLE, details: 'registry 127.0.0.1:5000 refused the connection', metadata };
  const io2 = testIo(dir);
  assert.equal(await runCli(args(), io2), 1);
  assert.equal(io2.stderr.lines.at(-1), 'error: registry 127.0.0.1:5000 refused the connection');
});

test('Ctrl-C cancels the build, waits for its end, exits 130', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => call.write(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-1', mode: EMU }));
  fake.onCancel = (_id, f) => {
    for (const call of f.watchers) finish(call, ev.finished({ state: BuildState.BUILD_STATE_CANCELLED }));
  };
  const io = testIo(dir);
  const run = runCli(args(), io);
  while (!io.stderr.text.includes('building on pi-1')) await sleep(10);
  io.signals.emit('SIGINT');
  assert.equal(await run, 130);
  assert.deepEqual(fake.cancelled, ['b1']);
  assert.ok(io.stderr.lines.includes('cancelling build b1…'), io.stderr.text);
  assert.equal(io.stderr.lines.at(-1), 'error: interrupted (SIGINT); build b1 cancelled');
  assert.equal(io.signals.listenerCount('SIGINT'), 0, 'handlers removed');
});
