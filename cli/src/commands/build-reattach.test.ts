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
import { testIo, type TestIo } from '../testing/io';
import { TEST_TLS } from '../testing/tls';

/*
 * `archfarm build` re-attaching to its build when the WatchBuild stream is lost, against
 * a real gRPC server on port 0 that drops, ends or refuses the stream on cue.
 */

const DIGEST = `sha256:${'d'.repeat(64)}`;
const EMU = BuildMode.BUILD_MODE_EMULATED;
const NATIVE = BuildMode.BUILD_MODE_NATIVE;
type WatchCall = ServerWritableStream<WatchBuildRequest, BuildEvent>;

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-reattach-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/arm64,linux/amd64', '-t', '127.0.0.1:5000/hello:1', ...extra, '.'];
  return { fake, dir, args };
}

/** Fails the call as a coordinator does: a status, and its error code in the trailer when given. */
function fail(call: WatchCall, code: status, details: string, remoteCode?: string): void {
  const metadata = new Metadata();
  if (remoteCode) metadata.set('archfarm-code', remoteCode);
  call.emit('error', { code, details, metadata });
}

function finish(call: WatchCall, event: BuildEvent): void {
  call.write(event);
  call.end();
}

const running = ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-1', mode: EMU });
const published = ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest: DIGEST, tag: '127.0.0.1:5000/hello:1' });

/** The end of the build, as every script here sends it once re-attached. */
function succeed(call: WatchCall): void {
  call.write(ev.job('linux/amd64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86-1', mode: NATIVE, digest: 'sha256:1' }));
  call.write(ev.job('linux/arm64', JobState.JOB_STATE_SUCCEEDED, { agent: 'pi-1', mode: EMU, digest: 'sha256:2' }));
  finish(call, published);
}

/**
 * First stream: arm64 "line 1", "line 2" and half of "line 3", amd64 "amd 1", then the
 * connection drops. The re-attached one repeats arm64's state, sends from before what the
 * client holds (as a replay racing a live chunk can), the rest, and a duplicate live chunk.
 */
function dropThenResume(call: WatchCall, fake: FakeCoordinator): void {
  if (fake.watchers.length === 1) {
    call.write(running);
    call.write(ev.log('linux/arm64', 'pi-1', EMU, 'line 1\nline 2\nli', 1, 0));
    call.write(ev.log('linux/amd64', 'x86-1', NATIVE, 'amd 1\n', 1, 0));
    setTimeout(() => fail(call, status.UNAVAILABLE, 'Connection dropped'), 50);
    return;
  }
  call.write(running);
  call.write(ev.log('linux/arm64', 'pi-1', EMU, 'e 2\nline 3\n', 1, 10));
  call.write(ev.log('linux/amd64', 'x86-1', NATIVE, 'amd 2\n', 1, 6));
  call.write(ev.log('linux/arm64', 'pi-1', EMU, 'line 3\n', 1, 14));
  succeed(call);
}

async function until(io: TestIo, text: string): Promise<void> {
  while (!io.stderr.text.includes(text)) await sleep(10);
}

test('a stream that drops mid-build is re-attached from the bytes held: each line once, one note each way, the digest', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = dropThenResume;
  const io = testIo(dir);
  assert.equal(await runCli(args(), io), 0, io.stderr.text);
  assert.equal(io.stdout.text, `${DIGEST}\n`);
  assert.deepEqual(fake.watchers.map((c) => c.request), [
    { buildId: 'b1', resume: false, logs: [] },
    {
      buildId: 'b1',
      resume: true,
      logs: [
        { platform: 'linux/arm64', attempt: 1, offset: 16 },
        { platform: 'linux/amd64', attempt: 1, offset: 6 },
      ],
    },
  ]);
  assert.deepEqual(io.stderr.lines.slice(1), [
    'build b1: linux/arm64, linux/amd64',
    '[linux/arm64] building on pi-1 (emulated)',
    '[linux/arm64 pi-1 emulated] line 1',
    '[linux/arm64 pi-1 emulated] line 2',
    '[linux/amd64 x86-1 native] amd 1',
    'archfarm: lost the coordinator (connection dropped); re-attaching',
    'archfarm: re-attached',
    '[linux/arm64 pi-1 emulated] line 3',
    '[linux/amd64 x86-1 native] amd 2',
    '[linux/amd64] pushed sha256:1',
    '[linux/arm64] pushed sha256:2',
    'published 127.0.0.1:5000/hello:1',
  ]);
});

test('--progress json: the repeated job state is not sent twice, the log text is whole, the loss is a JSON line', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = dropThenResume;
  const io = testIo(dir);
  assert.equal(await runCli(args('--progress', 'json'), io), 0, io.stderr.text);
  const objects = io.stderr.lines.map((l) => JSON.parse(l) as { type: string; platform?: string; text?: string; reason?: string });
  assert.deepEqual(objects.map((o) => o.type), ['context', 'submitted', 'job', 'log', 'log', 'reattaching', 'reattached', 'log', 'log', 'job', 'job', 'finished']);
  assert.equal(objects[5]!.reason, 'connection dropped');
  const text = (platform: string) => objects.filter((o) => o.type === 'log' && o.platform === platform).map((o) => o.text).join('');
  assert.equal(text('linux/arm64'), 'line 1\nline 2\nline 3\n');
  assert.equal(text('linux/amd64'), 'amd 1\namd 2\n');
});

test('a stream that ends before `finished`, then UNAVAILABLE BUILD_NOT_RESTORED, is one loss: re-attached, exit 0', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call, f) => {
    if (f.watchers.length === 1) {
      call.write(running);
      call.end();
    } else if (f.watchers.length === 2) {
      fail(call, status.UNAVAILABLE, 'build b1 is not resumed yet (the coordinator is restarting); try again in a moment', 'BUILD_NOT_RESTORED');
    } else {
      call.write(running);
      succeed(call);
    }
  };
  const io = testIo(dir);
  assert.equal(await runCli(args(), io), 0, io.stderr.text);
  assert.equal(io.stdout.text, `${DIGEST}\n`);
  assert.deepEqual(fake.watchers.map((c) => c.request.resume), [false, true, true]);
  const notes = io.stderr.lines.filter((l) => l.startsWith('archfarm: '));
  assert.deepEqual(notes, ['archfarm: lost the coordinator (the stream ended before the build did); re-attaching', 'archfarm: re-attached']);
  assert.equal(io.stderr.lines.filter((l) => l.includes('building on pi-1')).length, 1, io.stderr.text);
});

test('the coordinator goes away and a new one comes up at the same address: re-attached there, no line lost or twice', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => {
    call.write(running);
    call.write(ev.log('linux/arm64', 'pi-1', EMU, 'one\n', 1, 0));
  };
  const io = testIo(dir);
  const run = runCli(args(), io);
  await until(io, '] one');
  fake.stop();
  await until(io, 'archfarm: lost the coordinator');
  await sleep(300);
  const next = await FakeCoordinator.start(TEST_TLS, Number(fake.address.split(':')[1]));
  t.after(() => next.stop());
  // As a restarted coordinator replays from its log file: this one from the start.
  next.watch = (call) => {
    call.write(ev.log('linux/arm64', 'pi-1', EMU, 'one\ntwo\n', 1, 0));
    succeed(call);
  };
  assert.equal(await run, 0, io.stderr.text);
  assert.equal(io.stdout.text, `${DIGEST}\n`);
  assert.deepEqual(next.watchers.map((c) => c.request), [{ buildId: 'b1', resume: true, logs: [{ platform: 'linux/arm64', attempt: 1, offset: 4 }] }]);
  assert.deepEqual(io.stderr.lines.filter((l) => l.startsWith('[linux/arm64 ')), ['[linux/arm64 pi-1 emulated] one', '[linux/arm64 pi-1 emulated] two']);
  assert.equal(io.stderr.lines.filter((l) => l.startsWith('archfarm: ')).length, 2, io.stderr.text);
});

test('errors a new try cannot fix end at once, as before: NOT_FOUND exit 1, PERMISSION_DENIED exit 5', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => fail(call, status.NOT_FOUND, 'build b1 not found', 'BUILD_NOT_FOUND');
  const io = testIo(dir);
  assert.equal(await runCli(args(), io), 1);
  assert.equal(io.stderr.lines.at(-1), 'error: build b1 not found');
  assert.equal(fake.watchers.length, 1);

  fake.watch = (call) => fail(call, status.PERMISSION_DENIED, 'a viewer may not watch builds');
  const denied = testIo(dir);
  assert.equal(await runCli(args(), denied), 5);
  assert.equal(fake.watchers.length, 2);
  assert.ok(!io.stderr.text.includes('archfarm: lost') && !denied.stderr.text.includes('archfarm: lost'));
});

test('Ctrl-C while re-attaching cancels the build and exits 130', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => fail(call, status.UNAVAILABLE, 'not restored yet', 'BUILD_NOT_RESTORED');
  fake.onCancel = (_id, f) => {
    f.watch = (call) => finish(call, ev.finished({ state: BuildState.BUILD_STATE_CANCELLED }));
  };
  const io = testIo(dir);
  const run = runCli(args(), io);
  await until(io, 'archfarm: lost the coordinator (BUILD_NOT_RESTORED); re-attaching');
  io.signals.emit('SIGINT');
  assert.equal(await run, 130);
  assert.deepEqual(fake.cancelled, ['b1']);
  assert.equal(io.stderr.lines.at(-1), 'error: interrupted (SIGINT); build b1 cancelled');
});
