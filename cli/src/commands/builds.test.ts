import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { runCli } from '../cli';
import { T0, details } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { buildsTable } from './builds-list';

const INDEX = `sha256:${'9'.repeat(64)}`;
const ARM = `sha256:${'2'.repeat(64)}`;
const MIN = 60_000;
const LOST = { code: 'AGENT_LOST', message: 'agent pi-1 stopped renewing its lease', kind: 'infrastructure' };
const RUN_FAILED = { code: 'BUILD_STEP_FAILED', message: 'RUN make: exit code 2', kind: 'build' };

/** Published without s390x: arm64 took two attempts (the first agent vanished). */
const B7 = details.build({
  buildId: 'b7',
  state: BuildState.BUILD_STATE_PUBLISHED,
  digest: INDEX,
  createdMs: T0,
  finishedMs: T0 + 9 * MIN,
  allowPartial: true,
  smokeCommand: ['sh', '-c', 'uname -m'],
  platforms: [
    details.platform('linux/arm64', {
      state: JobState.JOB_STATE_SUCCEEDED,
      digest: ARM,
      attempts: [
        details.attempt(1, { agent: 'pi-1', startedMs: T0 + MIN, endedMs: T0 + 3 * MIN, outcome: 'lost', error: LOST }),
        details.attempt(2, { agent: 'pi-2', startedMs: T0 + 4 * MIN, endedMs: T0 + 8 * MIN, outcome: 'succeeded', digest: ARM }),
      ],
    }),
    details.platform('linux/s390x', {
      state: JobState.JOB_STATE_FAILED,
      error: RUN_FAILED,
      attempts: [details.attempt(1, { agent: 'x86-1', mode: BuildMode.BUILD_MODE_EMULATED, startedMs: T0 + MIN, endedMs: T0 + 2 * MIN, outcome: 'failed', error: RUN_FAILED })],
    }),
  ],
});
const B8 = details.build({ buildId: 'b8', createdMs: T0 + 10 * MIN, platforms: [details.platform('linux/amd64')] });

async function fake(t: { after: (fn: () => unknown) => void }): Promise<FakeCoordinator> {
  const f = await FakeCoordinator.start();
  t.after(() => f.stop());
  f.builds.set('b7', B7).set('b8', B8);
  return f;
}

test('builds inspect: the build, then each platform with its attempts', async (t) => {
  const f = await fake(t);
  const io = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'b7', '--coordinator', f.address], io), 0, io.stderr.text);
  assert.equal(io.stderr.text, '');
  assert.deepEqual(io.stdout.text.split('\n'), [
    'build      b7',
    'tag        127.0.0.1:5000/hello:1',
    'state      published',
    `digest     ${INDEX}`,
    'created    2025-05-01T10:00:00Z',
    'finished   2025-05-01T10:09:00Z',
    "smoke      sh -c 'uname -m'",
    'partial    allowed',
    '',
    `linux/arm64: succeeded, pushed ${ARM}`,
    '  ATTEMPT   AGENT   MODE     START                  END                    OUTCOME     ERROR',
    '  1         pi-1    native   2025-05-01T10:01:00Z   2025-05-01T10:03:00Z   lost        infrastructure error: agent pi-1 stopped renewing its lease',
    '  2         pi-2    native   2025-05-01T10:04:00Z   2025-05-01T10:08:00Z   succeeded   -',
    '',
    'linux/s390x: failed (build error): RUN make: exit code 2',
    '  ATTEMPT   AGENT   MODE       START                  END                    OUTCOME   ERROR',
    '  1         x86-1   emulated   2025-05-01T10:01:00Z   2025-05-01T10:02:00Z   failed    build error: RUN make: exit code 2',
    '',
  ]);
});

test('builds inspect --output json has the contract shape', async (t) => {
  const f = await fake(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: f.address });
  assert.equal(await runCli(['builds', 'inspect', 'b7', '--output', 'json'], io), 0, io.stderr.text);
  const json = JSON.parse(io.stdout.text) as { platforms: unknown[] };
  assert.deepEqual({ ...json, platforms: [] }, {
    buildId: 'b7',
    tag: '127.0.0.1:5000/hello:1',
    tags: ['127.0.0.1:5000/hello:1'],
    state: 'published',
    digest: INDEX,
    createdAt: '2025-05-01T10:00:00.000Z',
    finishedAt: '2025-05-01T10:09:00.000Z',
    error: null,
    failedPlatform: null,
    emulation: null,
    requireLabels: {},
    // An uploaded directory; a git context gives { url, ref, subdir, commit }.
    git: null,
    // Submitted by hand; a scheduled build names its schedule.
    schedule: null,
    platforms: [],
  });
  assert.deepEqual(json.platforms[0], {
    platform: 'linux/arm64',
    state: 'succeeded',
    digest: ARM,
    error: null,
    attempts: [
      {
        attempt: 1,
        agent: 'pi-1',
        mode: 'native',
        start: '2025-05-01T10:01:00.000Z',
        end: '2025-05-01T10:03:00.000Z',
        outcome: 'lost',
        errorKind: 'infrastructure',
        error: LOST,
        digest: null,
        reason: null,
      },
      {
        attempt: 2,
        agent: 'pi-2',
        mode: 'native',
        start: '2025-05-01T10:04:00.000Z',
        end: '2025-05-01T10:08:00.000Z',
        outcome: 'succeeded',
        errorKind: null,
        error: null,
        digest: ARM,
        reason: null,
      },
    ],
    bases: [],
  });
  assert.deepEqual(json.platforms[1], {
    platform: 'linux/s390x',
    state: 'failed',
    digest: null,
    error: RUN_FAILED,
    attempts: [
      {
        attempt: 1,
        agent: 'x86-1',
        mode: 'emulated',
        start: '2025-05-01T10:01:00.000Z',
        end: '2025-05-01T10:02:00.000Z',
        outcome: 'failed',
        errorKind: 'build',
        error: RUN_FAILED,
        digest: null,
        reason: null,
      },
    ],
    bases: [],
  });
});

test('builds inspect shows every tag and the base images each platform was built from', async (t) => {
  const f = await fake(t);
  const base = { ref: '127.0.0.1:5000/base:1', digest: `sha256:${'b'.repeat(64)}` };
  const platform = details.platform('linux/arm64', { state: JobState.JOB_STATE_SUCCEEDED, digest: ARM, bases: [base] });
  f.builds.set('b9', details.build({ buildId: 'b9', tags: ['127.0.0.1:5000/hello:1', '127.0.0.1:5000/hello:latest'], platforms: [platform] }));
  const io = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'b9', '--coordinator', f.address], io), 0, io.stderr.text);
  assert.ok(io.stdout.lines.includes('tags       127.0.0.1:5000/hello:1, 127.0.0.1:5000/hello:latest'), io.stdout.text);
  assert.ok(io.stdout.lines.includes(`linux/arm64: succeeded, pushed ${ARM}, from 127.0.0.1:5000/base:1@${base.digest}`), io.stdout.text);
  const json = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'b9', '--coordinator', f.address, '--output', 'json'], json), 0);
  const parsed = JSON.parse(json.stdout.text) as { tags: string[]; platforms: { bases: unknown[] }[] };
  assert.deepEqual(parsed.tags, ['127.0.0.1:5000/hello:1', '127.0.0.1:5000/hello:latest']);
  assert.deepEqual(parsed.platforms[0]?.bases, [base]);
});

test('a build still queued: no times, no digest, "no attempt yet"', async (t) => {
  const f = await fake(t);
  const io = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'b8', '--coordinator', f.address], io), 0);
  assert.deepEqual(io.stdout.lines.slice(2), ['state      running', 'digest     -', 'created    2025-05-01T10:10:00Z', 'finished   -', 'linux/amd64: queued', '  no attempt yet']);
  const json = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'b8', '--coordinator', f.address, '--output', 'json'], json), 0);
  const parsed = JSON.parse(json.stdout.text) as { finishedAt: unknown; digest: unknown; platforms: unknown[] };
  assert.equal(parsed.finishedAt, null);
  assert.equal(parsed.digest, null);
  assert.deepEqual(parsed.platforms, [{ platform: 'linux/amd64', state: 'queued', digest: null, error: null, attempts: [], bases: [] }]);
});

test('an unknown build id is a clear error, exit 1; a malformed one is exit 2 before connecting', async (t) => {
  const f = await fake(t);
  const io = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'nope', '--coordinator', f.address], io), 1);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, `error: the coordinator at ${f.address} has no build "nope"; \`archfarm builds\` lists the recent ones\n`);
  const bad = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', ' ', '--coordinator', '127.0.0.1:1'], bad), 2);
  assert.match(bad.stderr.text, /^error: ID: " " is not a build id/);
});

test('builds (and builds ls): newest first, at most 20 asked for; --output json is the inspect shape', async (t) => {
  const f = await fake(t);
  const io = testIo('/');
  assert.equal(await runCli(['builds', '--coordinator', f.address], io), 0, io.stderr.text);
  // The exact text is pinned below; here the order: newest first, whatever the coordinator sent.
  assert.deepEqual(io.stdout.lines, buildsTable([B8, B7]));
  assert.deepEqual(f.listLimits, [20]);

  const ls = testIo('/');
  assert.equal(await runCli(['builds', 'ls', '--output', 'json', '--coordinator', f.address], ls), 0);
  const json = testIo('/');
  assert.equal(await runCli(['builds', '--output', 'json', '--coordinator', f.address], json), 0, json.stderr.text);
  assert.equal(json.stdout.text, ls.stdout.text);
  const parsed = JSON.parse(json.stdout.text) as { buildId: string; platforms: unknown[] }[];
  assert.deepEqual(parsed.map((b) => b.buildId), ['b8', 'b7']);
  assert.equal(parsed[1]!.platforms.length, 2);
});

test('the builds table shortens digests as docker does', () => {
  assert.deepEqual(buildsTable([B8, B7]), [
    'ID   TAG                      STATE       PLATFORMS                 CREATED                DIGEST',
    'b8   127.0.0.1:5000/hello:1   running     linux/amd64               2025-05-01T10:10:00Z   -',
    'b7   127.0.0.1:5000/hello:1   published   linux/arm64,linux/s390x   2025-05-01T10:00:00Z   sha256:999999999999',
  ]);
});

test('no builds: an empty JSON array, or a note on stderr', async (t) => {
  const f = await FakeCoordinator.start();
  t.after(() => f.stop());
  const text = testIo('/');
  assert.equal(await runCli(['builds', '--coordinator', f.address], text), 0);
  assert.equal(text.stdout.text, '');
  assert.equal(text.stderr.text, `no builds on the coordinator at ${f.address}\n`);
  const json = testIo('/');
  assert.equal(await runCli(['builds', 'ls', '--coordinator', f.address, '--output', 'json'], json), 0);
  assert.deepEqual(JSON.parse(json.stdout.text), []);
});
