import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BuildMode, BuildState, type PlannedJob } from '@archfarm/proto';
import { runCli } from '../cli';
import { ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

const PLAN: PlannedJob[] = [
  { platform: 'linux/arm64', agent: 'pi-1', mode: BuildMode.BUILD_MODE_NATIVE, reason: 'native; built this repository last' },
  { platform: 'linux/s390x', agent: 'x86-1', mode: BuildMode.BUILD_MODE_EMULATED, reason: 'no native agent; heavy stages run on $BUILDPLATFORM' },
  { platform: 'linux/arm/v7', agent: '', mode: BuildMode.BUILD_MODE_UNSPECIFIED, reason: 'no agent with rack=pi-shelf builds it natively (--emulation deny)' },
];

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.plan = () => PLAN;
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-plan-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM --platform=$BUILDPLATFORM golang AS build\n');
  const platforms = 'linux/arm64,linux/s390x,linux/arm/v7';
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', platforms, '-t', '127.0.0.1:5000/hello:1', ...extra, '.'];
  return { fake, dir, args };
}

test('--plan uploads the context, asks PlanBuild (never SubmitBuild) and prints PLATFORM AGENT MODE REASON', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--plan', '--emulation', 'deny', '--require-label', 'rack=pi-shelf'), io), 0, io.stderr.text);
  assert.equal(fake.uploads.length, 1);
  assert.equal(fake.submitted.length, 0);
  assert.equal(fake.watchers.length, 0);
  assert.equal(fake.planned[0]?.contextDigest, fake.uploads[0]?.sha256);
  assert.equal(fake.planned[0]?.emulation, 'deny');
  assert.deepEqual(fake.planned[0]?.requireLabels, { rack: 'pi-shelf' });
  assert.deepEqual(io.stdout.lines, [
    'PLATFORM       AGENT   MODE       REASON',
    'linux/arm64    pi-1    native     native; built this repository last',
    'linux/s390x    x86-1   emulated   no native agent; heavy stages run on $BUILDPLATFORM',
    'linux/arm/v7   -       -          no agent with rack=pi-shelf builds it natively (--emulation deny)',
  ]);
  assert.match(io.stderr.lines[0]!, /^uploading context /);
  assert.equal(io.stderr.lines.length, 1);
});

test('--plan --output json: [{platform, agent, mode, reason}], agent and mode null when none can take it', async (t) => {
  const { dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--plan', '--output', 'json', '--progress', 'quiet'), io), 0, io.stderr.text);
  assert.equal(io.stderr.text, '');
  assert.deepEqual(JSON.parse(io.stdout.text), [
    { platform: 'linux/arm64', agent: 'pi-1', mode: 'native', reason: 'native; built this repository last' },
    { platform: 'linux/s390x', agent: 'x86-1', mode: 'emulated', reason: 'no native agent; heavy stages run on $BUILDPLATFORM' },
    { platform: 'linux/arm/v7', agent: null, mode: null, reason: 'no agent with rack=pi-shelf builds it natively (--emulation deny)' },
  ]);
});

test('the plan is asked with exactly the request the build then submits', async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.watch = (call) => {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest: `sha256:${'d'.repeat(64)}` }));
    call.end();
  };
  const flags = ['--emulation', 'allow', '--require-label', 'site=lab', '--build-arg', 'V=1', '--timeout', '1h', '--smoke', 'true'];
  const plan = testIo(dir);
  assert.equal(await runCli(args(...flags, '--plan'), plan), 0, plan.stderr.text);
  const build = testIo(dir);
  assert.equal(await runCli(args(...flags), build), 0, build.stderr.text);
  assert.deepEqual(fake.planned, fake.submitted);
  assert.equal(fake.uploads.length, 1, 'the build found the context the plan uploaded');
});

test('--plan validates as a build does: bad flags are exit 2 before connecting', async (t) => {
  const { dir } = await setup(t);
  const bad: [string[], RegExp][] = [
    [['--emulation', 'sometimes'], /^error: --emulation: "sometimes" is not one of prefer-native, deny, allow\n$/],
    [['--require-label', 'rack'], /^error: --require-label: "rack" is not KEY=VALUE/],
    [['--detach'], /^error: --plan: builds nothing/],
    [['--output', 'yaml'], /^error: --output: /],
  ];
  for (const [extra, message] of bad) {
    const io = testIo(dir);
    assert.equal(await runCli(['build', '--coordinator', '127.0.0.1:1', '-t', 'a:1', '--plan', ...extra, '.'], io), 2, extra.join(' '));
    assert.match(io.stderr.text, message);
  }
});
