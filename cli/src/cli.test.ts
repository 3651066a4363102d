import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BuildMode, JobState, BuildState } from '@archfarm/proto';
import { agentInfo } from './testing/agents';
import { details } from './testing/details';
import { ev, jobLog } from './testing/events';
import { FakeCoordinator } from './testing/fake-coordinator';
import { testEnv } from './testing/io';

/** The built entry point, run as the `archfarm` binary runs it. */
const MAIN = path.join(__dirname, 'main.js');
/** The tests' environment, and none of the settings of the user running them. */
const SPAWN_ENV = { ARCHFARM_COORDINATOR: '', ARCHFARM_CA_FINGERPRINT: '', ARCHFARM_INSECURE: '', ...testEnv() };

interface Run {
  code: number | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

function archfarm(args: string[], opts: { cwd: string; env?: Record<string, string>; onStderr?: (text: string, signal: (s: NodeJS.Signals) => void) => void }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...SPAWN_ENV, ...opts.env } });
    const run: Run = { code: null, stdout: '', stdoutBytes: Buffer.alloc(0), stderr: '' };
    child.stdout.on('data', (d: Buffer) => (run.stdoutBytes = Buffer.concat([run.stdoutBytes, d])));
    child.stderr.on('data', (d: Buffer) => {
      run.stderr += d.toString();
      opts.onStderr?.(run.stderr, (s) => child.kill(s));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ...run, stdout: run.stdoutBytes.toString(), code }));
  });
}

async function contextDir(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'ctx'));
  await writeFile(path.join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\n');
  await writeFile(path.join(dir, 'Dockerfile.outside'), 'FROM scratch\n');
  return dir;
}

const TAG = ['-t', '127.0.0.1:5000/hello:1'];
/** Each bad command line and the start of its error. 127.0.0.1:1 refuses connections, so
 * seeing the input error (not "cannot reach") proves nothing was sent. */
const BAD_INPUT: [string[], RegExp][] = [
  [['--platform', 'linux/arm/v9', ...TAG, 'ctx'], /^error: --platform: unknown variant "v9"/],
  [['-t', '127.0.0.1:5000/Hello:1', 'ctx'], /^error: --tag: "127.0.0.1:5000\/Hello:1" is not a valid image reference/],
  [['-t', `127.0.0.1:5000/hello@sha256:${'a'.repeat(64)}`, 'ctx'], /^error: --tag: .* names a digest/],
  [[...TAG, 'missing-dir'], /^error: CONTEXT_DIR: "missing-dir" does not exist/],
  [[...TAG, '-f', 'Dockerfile.outside', 'ctx'], /^error: --file: "Dockerfile.outside" lies outside the context/],
  [[...TAG, '-f', 'ctx/Dockerfile.nope', 'ctx'], /^error: --file: "ctx\/Dockerfile.nope" does not exist/],
  [[...TAG, '--build-arg', 'ARCHFARM_TEST_UNSET', 'ctx'], /^error: --build-arg: "ARCHFARM_TEST_UNSET" has no value and ARCHFARM_TEST_UNSET is not set in the environment/],
  [[...TAG, '--progress', 'fancy', 'ctx'], /^error: --progress: "fancy" is not one of auto, plain, json, quiet/],
  [[...TAG, '--output', 'yaml', 'ctx'], /^error: --output: "yaml" is not json, text or type=TYPE/],
  [[...TAG, '-o', 'type=docker', 'ctx'], /^error: --output: type=docker writes the image on this machine/],
  [[...TAG, '--wait-timeout', '5x', 'ctx'], /^error: --wait-timeout: "5x" is not a duration/],
  [[...TAG, '--timeout', '-1', 'ctx'], /^error: --timeout: "-1" is not a duration/],
  [[...TAG, '--smoke', '', 'ctx'], /^error: --smoke: is empty/],
  [[...TAG, '--emulation', 'maybe', 'ctx'], /^error: --emulation: "maybe" is not one of prefer-native, deny, allow/],
  [[...TAG, '--require-label', 'rack', '--plan', 'ctx'], /^error: --require-label: "rack" is not KEY=VALUE/],
  [['ctx'], /^error: --tag: is required/],
  [[...TAG, '--no-such-flag', 'ctx'], /^error: unknown option '--no-such-flag'/],
];

for (const [args, message] of BAD_INPUT) {
  test(`archfarm build ${args.join(' ')} -> exit 2`, async (t) => {
    const cwd = await contextDir(t);
    const run = await archfarm(['build', '--coordinator', '127.0.0.1:1', ...args], { cwd });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /cannot reach/);
    assert.equal(run.stdout, '');
  });
}

test('an unreachable coordinator is exit 3 with a hint', async (t) => {
  const cwd = await contextDir(t);
  const run = await archfarm(['build', ...TAG, 'ctx'], { cwd, env: { ARCHFARM_COORDINATOR: '127.0.0.1:1' } });
  assert.equal(run.code, 3);
  assert.equal(
    run.stderr,
    'error: cannot reach the coordinator at 127.0.0.1:1 (is archfarm-coordinator running? set --coordinator or ARCHFARM_COORDINATOR)\n',
  );
  const agents = await archfarm(['agents', '--coordinator', '127.0.0.1:1'], { cwd });
  assert.equal(agents.code, 3);
});

test('--help shows examples and exits 0', async (t) => {
  const cwd = await contextDir(t);
  const run = await archfarm(['build', '--help'], { cwd });
  assert.equal(run.code, 0);
  assert.match(run.stdout, /Examples:/);
  assert.match(run.stdout, /--coordinator <host:port>/);
});

test('the binary: digest as the last stdout line; SIGINT cancels and exits 130', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const cwd = await contextDir(t);
  const digest = `sha256:${'e'.repeat(64)}`;
  fake.watch = (call) => {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest, tag: '127.0.0.1:5000/hello:1' }));
    call.end();
  };
  const ok = await archfarm(['build', '--coordinator', fake.address, ...TAG, 'ctx'], { cwd });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `${digest}\n`);

  fake.watch = (call) => call.write(ev.job('linux/amd64', JobState.JOB_STATE_QUEUED));
  fake.onCancel = (_id, f) => {
    for (const call of f.watchers) {
      call.write(ev.finished({ state: BuildState.BUILD_STATE_CANCELLED }));
      call.end();
    }
  };
  let sent = false;
  const run = await archfarm(['build', '--coordinator', fake.address, '--platform', 'linux/amd64', ...TAG, 'ctx'], {
    cwd,
    onStderr: (text, signal) => {
      if (!sent && text.includes('queued')) {
        sent = true;
        signal('SIGINT');
      }
    },
  });
  assert.equal(run.code, 130, run.stderr);
  assert.deepEqual(fake.cancelled, ['b2']);
  assert.match(run.stderr, /cancelling build b2…\n/);
  assert.equal(run.stdout, '');
});

test('the binary: --detach prints the id; a partial publish exits 4; logs are copied byte for byte', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const cwd = await contextDir(t);
  const detached = await archfarm(['build', '--coordinator', fake.address, '--detach', ...TAG, 'ctx'], { cwd });
  assert.equal(detached.code, 0, detached.stderr);
  assert.equal(detached.stdout, 'b1\n');

  const digest = `sha256:${'e'.repeat(64)}`;
  const error = { code: 'SMOKE_FAILED', message: 'smoke test exited 139', kind: 'build' };
  fake.watch = (call) => {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest, leftOut: [{ platform: 'linux/arm/v7', error }] }));
    call.end();
  };
  const partial = await archfarm(['build', '--coordinator', fake.address, '--allow-partial', ...TAG, 'ctx'], { cwd });
  assert.equal(partial.code, 4, partial.stderr);
  assert.equal(partial.stdout, `${digest}\n`);
  assert.match(partial.stderr, /\nwarning: linux\/arm\/v7 left out: smoke test exited 139 \(build\)\n$/);

  const log = Buffer.concat([Buffer.from('naïve → ok\r\n'), Buffer.from([0xff, 0xfe]), Buffer.from('\nno newline')]);
  fake.builds.set('b1', details.build({ platforms: [details.platform('linux/arm/v7'), details.platform('linux/amd64')] }));
  fake.logs = (call) => {
    for (let i = 0; i < log.length; i += 5) call.write(jobLog('linux/arm/v7', 'pi-1', BuildMode.BUILD_MODE_NATIVE, log.subarray(i, i + 5), 1, i));
    call.end();
  };
  const logs = await archfarm(['logs', 'b1', '--platform', 'linux/armhf', '--coordinator', fake.address], { cwd });
  assert.equal(logs.code, 0, logs.stderr);
  assert.ok(logs.stdoutBytes.equals(log), logs.stdout);
  assert.equal(logs.stderr, '');
});

test('the binary: agents is both the list and the group of drain and resume', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.agents = [agentInfo('pi-1', { running: 2 })];
  const cwd = await contextDir(t);
  const json = await archfarm(['agents', '--output', 'json'], { cwd, env: { ARCHFARM_COORDINATOR: fake.address } });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as { name: string }[]).map((a) => a.name), ['pi-1']);
  const drain = await archfarm(['agents', 'drain', 'pi-1', '--coordinator', fake.address], { cwd });
  assert.equal(drain.code, 0, drain.stderr);
  assert.equal(drain.stderr, 'drained pi-1 (2 running jobs will finish)\n');
  const table = await archfarm(['--coordinator', fake.address, 'agents'], { cwd });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^NAME +STATUS .*\npi-1 +drained /);
  const help = await archfarm(['agents', '--help'], { cwd });
  assert.match(help.stdout, /drain <NAME> +give the agent no new jobs/);
});
