import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { runCli } from '../cli';
import { INTERRUPT_QUESTION } from '../interrupt-choice';
import { Captured, ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo, type TestIo } from '../testing/io';

// Ctrl-C under the live view (--progress tty): cancel or detach. The terminal is faked here
// (isTTY, setRawMode); test/src/progress-tty.test.ts drives a real one in tmux.

const NATIVE = BuildMode.BUILD_MODE_NATIVE;

/** A terminal's stdin: keys are pushed by the test; raw mode and pauses are recorded. */
class FakeTtyStdin extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  setRawMode(raw: boolean): this {
    this.rawModes.push(raw);
    return this;
  }
}

/** stderr as a terminal of 120 columns. */
class TtyCaptured extends Captured {
  readonly isTTY = true;
  readonly columns = 120;
}

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-detach-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  fake.watch = (call) => call.write(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: NATIVE }));
  fake.onCancel = (_id, f) => {
    for (const call of f.watchers) {
      call.write(ev.finished({ state: BuildState.BUILD_STATE_CANCELLED }));
      call.end();
    }
  };
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/amd64', '-t', '127.0.0.1:5000/hello:1', ...extra, '.'];
  return { fake, dir, args };
}

function ttyIo(dir: string, env: Record<string, string> = {}, stdinTty = true): TestIo & { stdin: FakeTtyStdin | PassThrough } {
  return { ...testIo(dir, env), stderr: new TtyCaptured(), stdin: stdinTty ? new FakeTtyStdin() : new PassThrough() };
}

async function until(io: TestIo, text: string): Promise<void> {
  while (!io.stderr.text.includes(text)) await sleep(10);
}

test('Ctrl-C then d: detaches, the build id on stdout, how to follow it on stderr; nothing cancelled; the terminal restored', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = ttyIo(dir);
  const stdin = io.stdin as FakeTtyStdin;
  const run = runCli(args('--progress', 'tty'), io);
  await until(io, 'x86-1  native');
  io.signals.emit('SIGINT');
  await until(io, INTERRUPT_QUESTION);
  stdin.write('x'); // another key is ignored
  await sleep(50);
  stdin.write('d');
  assert.equal(await run, 0, io.stderr.text);
  assert.equal(io.stdout.text, 'b1\n');
  assert.deepEqual(fake.cancelled, []);
  assert.match(io.stderr.text, /detached from build b1: it keeps running on the farm and publishes when done\n {2}follow it: +archfarm logs -f b1\n {2}its outcome: +archfarm builds inspect b1\n/);
  assert.deepEqual(stdin.rawModes, [true, false]);
  assert.equal(stdin.isPaused(), true, 'stdin paused: it holds no process open');
  assert.equal(stdin.listenerCount('data'), 0);
  assert.equal(io.signals.listenerCount('SIGINT'), 0, 'handlers removed');
});

test('Ctrl-C then c, or Ctrl-C twice: cancels as before, exit 130', async (t) => {
  for (const answer of ['c', '\u0003', 'signal'] as const) {
    const { fake, dir, args } = await setup(t);
    const io = ttyIo(dir, { BUILDKIT_PROGRESS: 'tty' });
    const run = runCli(args(), io);
    await until(io, 'x86-1  native');
    io.signals.emit('SIGINT');
    await until(io, INTERRUPT_QUESTION);
    if (answer === 'signal') io.signals.emit('SIGINT');
    else io.stdin.write(answer);
    assert.equal(await run, 130, `${JSON.stringify(answer)}: ${io.stderr.text}`);
    assert.deepEqual(fake.cancelled, ['b1'], JSON.stringify(answer));
    assert.match(io.stderr.text, /cancelling build b1…\n/);
    assert.equal(io.stderr.lines.at(-1), 'error: interrupted (SIGINT); build b1 cancelled');
    assert.deepEqual((io.stdin as FakeTtyStdin).rawModes, [true, false]);
  }
});

test('the build ends while the question is up: its outcome stands', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = ttyIo(dir);
  const run = runCli(args('--progress', 'tty'), io);
  await until(io, 'x86-1  native');
  io.signals.emit('SIGINT');
  await until(io, INTERRUPT_QUESTION);
  for (const call of fake.watchers) {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest: `sha256:${'e'.repeat(64)}`, tag: '127.0.0.1:5000/hello:1' }));
    call.end();
  }
  assert.equal(await run, 0, io.stderr.text);
  assert.equal(io.stdout.text, `sha256:${'e'.repeat(64)}\n`);
  assert.deepEqual(fake.cancelled, []);
  assert.deepEqual((io.stdin as FakeTtyStdin).rawModes, [true, false]);
});

test('nobody to ask: stdin not a terminal under tty, plain mode, or SIGTERM: the first signal cancels', async (t) => {
  const cases = [
    { name: 'tty, stdin a pipe', extra: ['--progress', 'tty'], stdinTty: false, signal: 'SIGINT' },
    { name: 'plain on a terminal', extra: ['--progress', 'plain'], stdinTty: true, signal: 'SIGINT' },
    { name: 'tty, SIGTERM', extra: ['--progress', 'tty'], stdinTty: true, signal: 'SIGTERM' },
  ] as const;
  for (const c of cases) {
    const { fake, dir, args } = await setup(t);
    const io = ttyIo(dir, {}, c.stdinTty);
    const run = runCli(args(...c.extra), io);
    await until(io, 'x86-1');
    io.signals.emit(c.signal);
    assert.equal(await run, c.signal === 'SIGINT' ? 130 : 143, `${c.name}: ${io.stderr.text}`);
    assert.deepEqual(fake.cancelled, ['b1'], c.name);
    assert.ok(!io.stderr.text.includes(INTERRUPT_QUESTION), `${c.name}: nothing asked`);
  }
});

test('auto: the live view on a terminal, plain lines elsewhere (and with TERM=dumb)', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => {
    call.write(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: NATIVE }));
    call.write(ev.job('linux/amd64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86-1', mode: NATIVE, digest: 'sha256:1' }));
    call.write(ev.finished({ digest: `sha256:${'e'.repeat(64)}`, tag: '127.0.0.1:5000/hello:1', platforms: [{ platform: 'linux/amd64', digest: 'sha256:1', agent: 'x86-1', mode: NATIVE, bases: [] }] }));
    call.end();
  };
  const live = ttyIo(dir);
  assert.equal(await runCli(args(), live), 0, live.stderr.text);
  assert.match(live.stderr.text, /\u001b\[J/);
  assert.match(live.stderr.text, /PLATFORM +AGENT +MODE +DURATION +DIGEST\nlinux\/amd64 +x86-1 +native +\S+ +sha256:1\npublished 127\.0\.0\.1:5000\/hello:1\n$/);
  for (const io of [testIo(dir), ttyIo(dir, { TERM: 'dumb' })]) {
    assert.equal(await runCli(args(), io), 0, io.stderr.text);
    assert.doesNotMatch(io.stderr.text, /\u001b/);
    assert.match(io.stderr.text, /^\[linux\/amd64\] building on x86-1 \(native\)$/m);
  }
});
