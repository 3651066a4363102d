import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { t as listTar } from 'tar';
import { runCli } from '../cli';
import { T0 } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

/** 03:00 in Zurich (summer time) on the five days after T0. */
const RUNS = [1, 2, 3, 4, 5].map((d) => Date.UTC(2025, 4, 1 + d, 1, 0, 0));

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-schedules-add-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  await writeFile(path.join(dir, 'app.txt'), 'hello\n');
  await writeFile(path.join(dir, 'secret.env'), 'TOKEN=1\n');
  await writeFile(path.join(dir, '.dockerignore'), 'secret.env\n');
  fake.schedules.nextRunsMs = RUNS;
  const args = (...extra: string[]) => ['schedules', 'add', 'nightly', '--coordinator', fake.address, '--cron', '0 3 * * *', '--platform', 'linux/amd64,linux/arm64', '-t', '127.0.0.1:5000/hello:1', ...extra];
  return { fake, dir, args };
}

async function tarNames(bytes: Buffer, dir: string): Promise<string[]> {
  const file = path.join(dir, '..', `${path.basename(dir)}.tar`);
  await writeFile(file, bytes);
  const names: string[] = [];
  try {
    await listTar({ file, onReadEntry: (e) => names.push(e.path) });
  } finally {
    await rm(file, { force: true });
  }
  return names.sort();
}

test('schedules add: uploads the context as build does, sends the build flags parsed as build parses them, prints the next five runs', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir, { SOURCE_DATE_EPOCH: undefined });
  const argv = args('--timezone', 'Europe/Zurich', '--on-base-change', '--build-arg', 'V=1', '--target', 'app', '--label', 'a=b', '--pull', '--no-cache', '--allow-partial', '--emulation', 'deny', '--require-label', 'rack=pi', '--smoke', 'uname -m', '--timeout', '1h', '--wait-timeout', '5m', '-t', '127.0.0.1:5000/hello:latest', '--provenance', 'false', '.');
  assert.equal(await runCli(argv, io), 0, io.stderr.text);
  const digest = fake.uploads[0]!.sha256;
  assert.equal(fake.uploads.length, 1);
  assert.deepEqual(await tarNames(fake.contexts.get(digest)!, dir), ['.dockerignore', 'Dockerfile', 'app.txt']);
  assert.deepEqual(fake.schedules.added, [
    {
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: 'Europe/Zurich',
      onBaseChange: true,
      build: {
        platforms: ['linux/amd64', 'linux/arm64'],
        tag: '127.0.0.1:5000/hello:1',
        tags: ['127.0.0.1:5000/hello:1', '127.0.0.1:5000/hello:latest'],
        contextDigest: digest,
        dockerfile: 'Dockerfile',
        buildArgs: { V: '1' },
        target: 'app',
        waitTimeoutSeconds: 300,
        timeoutSeconds: 3600,
        allowPartial: true,
        smokeCommand: ['uname', '-m'],
        emulation: 'deny',
        requireLabels: { rack: 'pi' },
        registryAuth: undefined,
        labels: { a: 'b' },
        annotations: [],
        pull: true,
        noCache: true,
        secrets: [],
        git: undefined,
        noProvenance: true,
        crossCheck: [],
      },
    },
  ]);
  assert.deepEqual(io.stdout.lines, [
    'schedule nightly added: 0 3 * * * (Europe/Zurich), only when a base image or the git commit changed',
    'next runs:',
    '  2025-05-02T03:00:00+02:00   2025-05-02T01:00:00Z',
    '  2025-05-03T03:00:00+02:00   2025-05-03T01:00:00Z',
    '  2025-05-04T03:00:00+02:00   2025-05-04T01:00:00Z',
    '  2025-05-05T03:00:00+02:00   2025-05-05T01:00:00Z',
    '  2025-05-06T03:00:00+02:00   2025-05-06T01:00:00Z',
  ]);
  assert.match(io.stderr.text, /^uploading context /);
  // The same context through `archfarm build` has the same digest: the coordinator already holds it.
  const plan = testIo(dir);
  assert.equal(await runCli(['build', '--plan', '--coordinator', fake.address, '--platform', 'linux/amd64', '-t', '127.0.0.1:5000/hello:1', '.'], plan), 0, plan.stderr.text);
  assert.equal(fake.uploads.length, 1);
  assert.equal(fake.planned[0]!.contextDigest, digest);
});

test('schedules add --output json: the added schedule, in UTC when no time zone is given', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--output', 'json', '.'), io), 0, io.stderr.text);
  assert.equal(fake.schedules.added[0]!.timezone, '');
  assert.deepEqual(JSON.parse(io.stdout.text), {
    name: 'nightly',
    cron: '0 3 * * *',
    timezone: 'UTC',
    paused: false,
    onBaseChange: false,
    owner: null,
    createdAt: new Date(T0).toISOString(),
    tags: ['127.0.0.1:5000/hello:1'],
    platforms: ['linux/amd64', 'linux/arm64'],
    contextDigest: fake.uploads[0]!.sha256,
    git: null,
    dockerfile: 'Dockerfile',
    nextRuns: RUNS.map((ms) => new Date(ms).toISOString()),
    ticks: [],
  });
});

test('schedules add: a context already on the coordinator is not uploaded again', async (t) => {
  const { fake, dir, args } = await setup(t);
  assert.equal(await runCli(args('.'), testIo(dir)), 0);
  fake.schedules.schedules.clear();
  const io = testIo(dir);
  assert.equal(await runCli(args('.'), io), 0, io.stderr.text);
  assert.equal(fake.uploads.length, 1);
  assert.match(io.stderr.text, /already on the coordinator/);
  assert.equal(fake.schedules.added[1]!.build!.contextDigest, fake.uploads[0]!.sha256);
});

test('schedules add: --secret and --forward-credentials are refused, naming the flag and the fix, before anything is sent', async (t) => {
  const { fake, dir, args } = await setup(t);
  const cases: [string[], RegExp][] = [
    [['--secret', 'id=npmrc,src=app.txt'], /^error: --secret: a schedule cannot hold secret values: .*`archfarm build --secret`/],
    [['--forward-credentials'], /^error: --forward-credentials: a schedule runs later, without you: .*`archfarm registry login REGISTRY`/],
  ];
  for (const [extra, message] of cases) {
    const io = testIo(dir);
    assert.equal(await runCli(args(...extra, '.'), io), 2, extra[0]);
    assert.match(io.stderr.text, message);
    assert.equal(io.stdout.text, '');
  }
  assert.deepEqual(fake.auth.calls, []);
});

test('schedules add: a context dir that does not exist is refused before anything is sent, naming the argument', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('./nope'), io), 2);
  assert.equal(io.stderr.text, 'error: CONTEXT_DIR: "./nope" does not exist; give the directory holding the build\'s files, e.g. .\n');
  assert.deepEqual(fake.auth.calls, []);
});

test('schedules add: flags about one CLI session are not schedule flags; --cron is required; a bad build flag fails as in build', async (t) => {
  const { fake, dir, args } = await setup(t);
  for (const flag of ['--progress=plain', '--detach', '--plan', '--metadata-file=m.json', '--iidfile=i', '--load', '-o=json']) {
    const io = testIo(dir);
    assert.equal(await runCli(args(flag, '.'), io), 2, flag);
    assert.match(io.stderr.text, /unknown option/, flag);
  }
  const noCron = testIo(dir);
  assert.equal(await runCli(['schedules', 'add', 'nightly', '--coordinator', fake.address, '-t', '127.0.0.1:5000/hello:1', '.'], noCron), 2);
  assert.match(noCron.stderr.text, /required option '--cron <expression>' not specified/);
  const badTimeout = testIo(dir);
  assert.equal(await runCli(args('--timeout', 'soon', '.'), badTimeout), 2);
  assert.match(badTimeout.stderr.text, /^error: --timeout: "soon" is not a duration/);
  assert.deepEqual(fake.auth.calls, []);
});

test("schedules add: the coordinator's refusal is shown with its field (an invalid cron, a duplicate name)", async (t) => {
  const { fake, dir, args } = await setup(t);
  fake.schedules.addError = { code: status.INVALID_ARGUMENT, details: 'cron: "61 * * * *" is not a valid cron expression' };
  const bad = testIo(dir);
  assert.equal(await runCli(args('.'), bad), 2);
  assert.equal(bad.stderr.lines.at(-1), 'error: cron: "61 * * * *" is not a valid cron expression');
  assert.equal(bad.stdout.text, '');
  fake.schedules.addError = undefined;
  assert.equal(await runCli(args('.'), testIo(dir)), 0);
  const twice = testIo(dir);
  assert.equal(await runCli(args('.'), twice), 1);
  assert.equal(twice.stderr.lines.at(-1), 'error: name: a schedule "nightly" already exists');
});

test('schedules add GIT_URL: sent as SubmitBuildRequest.git, nothing packed or uploaded; -f is a path in the repository', async (t) => {
  const { fake, args } = await setup(t);
  const io = testIo('/nonexistent-cwd');
  assert.equal(await runCli(args('-f', 'docker/Dockerfile', '--output', 'json', 'https://git.example/org/app.git#main:services/web'), io), 0, io.stderr.text);
  assert.deepEqual(fake.uploads, []);
  assert.deepEqual(fake.auth.calls.map((c) => c.split(' ')[0]), ['AddSchedule']);
  const build = fake.schedules.added[0]!.build!;
  assert.deepEqual(build.git, { url: 'https://git.example/org/app.git', ref: 'main', subdir: 'services/web', commit: '' });
  assert.equal(build.contextDigest, '');
  assert.equal(build.dockerfile, 'docker/Dockerfile');
  const shown = JSON.parse(io.stdout.text) as { git: unknown; contextDigest: unknown };
  assert.deepEqual([shown.git, shown.contextDigest], [{ url: 'https://git.example/org/app.git', ref: 'main', subdir: 'services/web', commit: '' }, null]);
});

test('schedules add GIT_URL with credentials in it is refused before anything is sent, naming the argument', async (t) => {
  const { fake, args } = await setup(t);
  const io = testIo('/');
  assert.equal(await runCli(args('https://user:hunter2@git.example/org/app.git#main'), io), 2);
  assert.match(io.stderr.text, /^error: context: the git URL carries credentials/);
  assert.doesNotMatch(io.stderr.text, /hunter2/);
  assert.deepEqual(fake.auth.calls, []);
});
