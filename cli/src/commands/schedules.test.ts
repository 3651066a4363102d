import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { TickCause, TickOutcome } from '@archfarm/proto';
import { runCli } from '../cli';
import { T0, details } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { schedules } from '../testing/fake-schedules';
import { testIo } from '../testing/io';
import { schedulesTable, zonedTime } from './schedules-text';

const MIN = 60_000;
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const CONTEXT = `sha256:${'c'.repeat(64)}`;
const BASE = '127.0.0.1:5000/base/busybox:1';
const CHANGED = `base ${BASE} linux/arm64 changed ${OLD} -> ${NEW}`;

/** nightly (Zurich, on base change, three ticks) and weekly (UTC, git, paused, never ticked). */
const NIGHTLY = schedules.schedule({
  name: 'nightly',
  timezone: 'Europe/Zurich',
  onBaseChange: true,
  owner: 'tok-1',
  platforms: ['linux/amd64', 'linux/arm64'],
  contextDigest: CONTEXT,
  nextRunsMs: [1, 2, 3, 4, 5].map((d) => Date.UTC(2025, 4, 1 + d, 1, 0, 0)),
  ticks: [
    schedules.tick({ dueMs: T0 + 2 * MIN, ranMs: T0 + 2 * MIN, buildId: 'b9', reason: CHANGED, bases: [{ platform: 'linux/arm64', ref: BASE, digest: NEW }] }),
    schedules.tick({ dueMs: T0 + MIN, ranMs: T0 + MIN, outcome: TickOutcome.TICK_OUTCOME_UNCHANGED, reason: 'no base image changed' }),
    schedules.tick({ dueMs: T0, ranMs: T0 + 5 * MIN, cause: TickCause.TICK_CAUSE_MISSED, outcome: TickOutcome.TICK_OUTCOME_SKIPPED, reason: 'build b8 still runs' }),
  ],
});
const WEEKLY = schedules.schedule({
  name: 'weekly',
  cron: '0 4 * * 1',
  paused: true,
  git: { url: 'https://git.example/app.git', ref: 'main', subdir: 'docker', commit: '' },
  nextRunsMs: [],
});

async function fake(t: { after: (fn: () => unknown) => void }): Promise<FakeCoordinator> {
  const f = await FakeCoordinator.start();
  t.after(() => f.stop());
  f.schedules.schedules.set('weekly', WEEKLY).set('nightly', NIGHTLY);
  return f;
}

function io(f: FakeCoordinator) {
  return testIo('/', { ARCHFARM_COORDINATOR: f.address });
}

test('zonedTime: the wall clock of the zone with its offset, ISO 8601', () => {
  const ms = Date.UTC(2025, 4, 2, 1, 0, 0);
  assert.equal(zonedTime(ms, 'Europe/Zurich'), '2025-05-02T03:00:00+02:00');
  assert.equal(zonedTime(Date.UTC(2025, 0, 2, 2, 0, 0), 'Europe/Zurich'), '2025-01-02T03:00:00+01:00');
  assert.equal(zonedTime(ms, 'Asia/Kolkata'), '2025-05-02T06:30:00+05:30');
  assert.equal(zonedTime(ms, 'America/New_York'), '2025-05-01T21:00:00-04:00');
  assert.equal(zonedTime(ms, 'UTC'), '2025-05-02T01:00:00+00:00');
});

test('schedules (alone) lists: NAME CRON TZ NEXT LAST TICK PAUSED, sorted by name', async (t) => {
  const f = await fake(t);
  const out = io(f);
  assert.equal(await runCli(['schedules'], out), 0, out.stderr.text);
  assert.equal(out.stderr.text, '');
  const lines = out.stdout.lines;
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^NAME +CRON +TZ +NEXT +LAST TICK +PAUSED$/);
  assert.match(lines[1]!, /^nightly +0 3 \* \* \* +Europe\/Zurich +2025-05-02T01:00:00Z +built \d+d ago +no$/);
  assert.match(lines[2]!, /^weekly +0 4 \* \* 1 +UTC +- +- +yes$/);
  const list = io(f);
  assert.equal(await runCli(['schedules', 'list'], list), 0);
  assert.deepEqual(list.stdout.lines, lines);
  const typo = io(f);
  assert.equal(await runCli(['schedules', 'nightly'], typo), 2);
  assert.match(typo.stderr.text, /^error: unknown command 'schedules nightly'; use add, list, show, run, pause, resume or rm/);
  assert.equal(typo.stdout.text, '');
});

test('schedulesTable: the last tick as its outcome and age', () => {
  assert.deepEqual(schedulesTable([NIGHTLY], T0 + 5 * MIN), [
    'NAME      CRON        TZ              NEXT                   LAST TICK      PAUSED',
    'nightly   0 3 * * *   Europe/Zurich   2025-05-02T01:00:00Z   built 3m ago   no',
  ]);
});

test('schedules list --output json: an array in the key style of builds --output json', async (t) => {
  const f = await fake(t);
  const out = io(f);
  assert.equal(await runCli(['schedules', 'list', '--output', 'json'], out), 0, out.stderr.text);
  const json = JSON.parse(out.stdout.text) as Record<string, unknown>[];
  assert.deepEqual(json.map((s) => s.name), ['nightly', 'weekly']);
  assert.deepEqual(json[1], {
    name: 'weekly',
    cron: '0 4 * * 1',
    timezone: 'UTC',
    paused: true,
    onBaseChange: false,
    owner: null,
    createdAt: '2025-05-01T10:00:00.000Z',
    tags: ['127.0.0.1:5000/hello:1'],
    platforms: ['linux/amd64'],
    contextDigest: null,
    git: { url: 'https://git.example/app.git', ref: 'main', subdir: 'docker', commit: '' },
    dockerfile: 'Dockerfile',
    nextRuns: [],
    ticks: [],
  });
  assert.deepEqual((json[0]!.ticks as unknown[])[0], {
    schedule: 'nightly',
    dueAt: '2025-05-01T10:02:00.000Z',
    ranAt: '2025-05-01T10:02:00.000Z',
    cause: 'scheduled',
    outcome: 'built',
    reason: CHANGED,
    buildId: 'b9',
    commit: null,
    bases: [{ platform: 'linux/arm64', ref: BASE, digest: NEW }],
  });
});

test('schedules list: none is a note on stderr, stdout stays empty', async (t) => {
  const f = await fake(t);
  f.schedules.schedules.clear();
  const out = io(f);
  assert.equal(await runCli(['schedules'], out), 0);
  assert.equal(out.stdout.text, '');
  assert.equal(out.stderr.text, `no schedules on the coordinator at ${f.address}; add one with \`archfarm schedules add\`\n`);
});

test('schedules show: every field, the next runs in its zone and UTC, the ticks with cause, outcome, reason, build, bases', async (t) => {
  const f = await fake(t);
  const out = io(f);
  assert.equal(await runCli(['schedules', 'show', 'nightly'], out), 0, out.stderr.text);
  assert.deepEqual(f.schedules.calls, ['GetSchedule nightly']);
  assert.deepEqual(out.stdout.text.split('\n'), [
    'schedule         nightly',
    'cron             0 3 * * * (Europe/Zurich)',
    'paused           no',
    'on-base-change   yes (builds only when a base image or the git commit changed)',
    'owner            tok-1',
    'created          2025-05-01T10:00:00Z',
    'tags             127.0.0.1:5000/hello:1',
    'platforms        linux/amd64, linux/arm64',
    `context          ${CONTEXT}`,
    'dockerfile       Dockerfile',
    '',
    'next runs (Europe/Zurich, then UTC):',
    '  2025-05-02T03:00:00+02:00   2025-05-02T01:00:00Z',
    '  2025-05-03T03:00:00+02:00   2025-05-03T01:00:00Z',
    '  2025-05-04T03:00:00+02:00   2025-05-04T01:00:00Z',
    '  2025-05-05T03:00:00+02:00   2025-05-05T01:00:00Z',
    '  2025-05-06T03:00:00+02:00   2025-05-06T01:00:00Z',
    '',
    'ticks, newest first:',
    '  2025-05-01T10:02:00Z built b9 (scheduled, ran 2025-05-01T10:02:00Z)',
    `      reason   ${CHANGED}`,
    `      base     linux/arm64 ${BASE}@${NEW}`,
    '  2025-05-01T10:01:00Z unchanged (scheduled, ran 2025-05-01T10:01:00Z)',
    '      reason   no base image changed',
    '  2025-05-01T10:00:00Z skipped (missed, ran 2025-05-01T10:05:00Z)',
    '      reason   build b8 still runs',
    '',
  ]);
});

test('schedules show: a paused git schedule; --output json has every field', async (t) => {
  const f = await fake(t);
  const out = io(f);
  assert.equal(await runCli(['schedules', 'show', 'weekly'], out), 0, out.stderr.text);
  assert.ok(out.stdout.lines.includes('git              https://git.example/app.git#main:docker'), out.stdout.text);
  assert.ok(out.stdout.lines.includes('paused           yes'));
  assert.deepEqual(out.stdout.text.split('\n').slice(-4), ['next runs: none while paused', '', 'no ticks yet', '']);
  const json = io(f);
  assert.equal(await runCli(['schedules', 'show', 'nightly', '--output', 'json'], json), 0, json.stderr.text);
  const shown = JSON.parse(json.stdout.text) as { ticks: { cause: string; outcome: string }[]; nextRuns: string[]; owner: string; onBaseChange: boolean };
  assert.deepEqual(shown.ticks.map((tk) => `${tk.cause} ${tk.outcome}`), ['scheduled built', 'scheduled unchanged', 'missed skipped']);
  assert.deepEqual(shown.nextRuns, NIGHTLY.nextRunsMs.map((ms) => new Date(ms).toISOString()));
  assert.equal(shown.owner, 'tok-1');
  assert.equal(shown.onBaseChange, true);
});

test('schedules show of an unknown name: the coordinator\'s words, field named, exit 1', async (t) => {
  const f = await fake(t);
  const out = io(f);
  assert.equal(await runCli(['schedules', 'show', 'nope'], out), 1);
  assert.equal(out.stderr.text, 'error: name: schedule "nope" not found; list schedules with \'archfarm schedules list\'\n');
  const blank = io(f);
  assert.equal(await runCli(['schedules', 'show', ' '], blank), 2);
  assert.match(blank.stderr.text, /^error: NAME: " " is not a schedule name/);
});

test('schedules run: built prints the build id and how to follow it, exit 0', async (t) => {
  const f = await fake(t);
  f.schedules.runAnswer = (name) => schedules.tick({ schedule: name, dueMs: T0, ranMs: T0, cause: TickCause.TICK_CAUSE_MANUAL, buildId: 'b12', commit: 'f00d' });
  const out = io(f);
  assert.equal(await runCli(['schedules', 'run', 'nightly'], out), 0, out.stderr.text);
  assert.deepEqual(f.schedules.calls, ['RunSchedule nightly']);
  assert.deepEqual(out.stdout.lines, [
    'schedule nightly: 2025-05-01T10:00:00Z built b12 (manual, ran 2025-05-01T10:00:00Z)',
    '    commit   f00d',
    'follow it:   archfarm logs -f b12',
    'inspect it:  archfarm builds inspect b12',
  ]);
  const json = io(f);
  assert.equal(await runCli(['schedules', 'run', 'nightly', '--output', 'json'], json), 0);
  assert.deepEqual(JSON.parse(json.stdout.text), {
    schedule: 'nightly',
    dueAt: '2025-05-01T10:00:00.000Z',
    ranAt: '2025-05-01T10:00:00.000Z',
    cause: 'manual',
    outcome: 'built',
    reason: null,
    buildId: 'b12',
    commit: 'f00d',
    bases: [],
  });
});

test('schedules run: skipped and unchanged say why and exit 0; failed exits 1 with its reason', async (t) => {
  const f = await fake(t);
  for (const [outcome, word] of [[TickOutcome.TICK_OUTCOME_SKIPPED, 'skipped'], [TickOutcome.TICK_OUTCOME_UNCHANGED, 'unchanged']] as const) {
    f.schedules.runAnswer = (name) => schedules.tick({ schedule: name, cause: TickCause.TICK_CAUSE_MANUAL, outcome, reason: `why ${word}` });
    const out = io(f);
    assert.equal(await runCli(['schedules', 'run', 'nightly'], out), 0, out.stderr.text);
    assert.deepEqual(out.stdout.lines, [`schedule nightly: 2025-05-01T10:00:00Z ${word} (manual, ran 2025-05-01T10:00:00Z)`, `    reason   why ${word}`]);
  }
  f.schedules.runAnswer = (name) => schedules.tick({ schedule: name, cause: TickCause.TICK_CAUSE_MANUAL, outcome: TickOutcome.TICK_OUTCOME_FAILED, reason: 'git: cannot resolve ref main' });
  const failed = io(f);
  assert.equal(await runCli(['schedules', 'run', 'nightly'], failed), 1);
  assert.deepEqual(failed.stdout.lines, ['schedule nightly: 2025-05-01T10:00:00Z failed (manual, ran 2025-05-01T10:00:00Z)', '    reason   git: cannot resolve ref main']);
  assert.equal(failed.stderr.text, 'error: schedule nightly: the tick failed: git: cannot resolve ref main\n');
});

test('schedules pause, resume, rm: the call, a note on stderr, stdout empty', async (t) => {
  const f = await fake(t);
  const pause = io(f);
  assert.equal(await runCli(['schedules', 'pause', 'nightly'], pause), 0, pause.stderr.text);
  assert.equal(pause.stderr.text, 'paused schedule nightly\n');
  assert.equal(f.schedules.schedules.get('nightly')!.paused, true);
  const resume = io(f);
  assert.equal(await runCli(['schedules', 'resume', 'nightly'], resume), 0, resume.stderr.text);
  assert.equal(resume.stderr.lines[0], 'resumed schedule nightly; next runs:');
  assert.equal(resume.stderr.lines.length, 6);
  assert.equal(f.schedules.schedules.get('nightly')!.paused, false);
  const rm = io(f);
  assert.equal(await runCli(['schedules', 'rm', 'nightly'], rm), 0, rm.stderr.text);
  assert.equal(rm.stderr.text, 'removed schedule nightly\n');
  assert.equal(f.schedules.schedules.has('nightly'), false);
  for (const out of [pause, resume, rm]) assert.equal(out.stdout.text, '');
  const again = io(f);
  assert.equal(await runCli(['schedules', 'rm', 'nightly'], again), 1);
  assert.match(again.stderr.text, /^error: name: schedule "nightly" not found/);
  assert.deepEqual(f.schedules.calls, ['PauseSchedule nightly', 'ResumeSchedule nightly', 'RemoveSchedule nightly', 'RemoveSchedule nightly']);
});

test("schedules: a builder refused another's schedule sees the coordinator's words, exit 5", async (t) => {
  const f = await fake(t);
  f.auth.refuse = (rpc) => (rpc === 'PauseSchedule' ? { code: status.PERMISSION_DENIED, details: 'schedule "nightly" was added by another token' } : undefined);
  const out = io(f);
  assert.equal(await runCli(['schedules', 'pause', 'nightly'], out), 5);
  assert.match(out.stderr.text, /schedule "nightly" was added by another token/);
});

test('builds --schedule NAME asks for that schedule\'s builds; JSON has schedule and git', async (t) => {
  const f = await fake(t);
  const git = { url: 'https://git.example/app.git', ref: 'main', subdir: '', commit: 'f00d' };
  f.builds.set('b1', details.build({ buildId: 'b1' })).set('b9', details.build({ buildId: 'b9', createdMs: T0 + MIN, schedule: 'nightly', git }));
  const out = io(f);
  assert.equal(await runCli(['builds', '--schedule', 'nightly', '--output', 'json'], out), 0, out.stderr.text);
  assert.deepEqual(f.listRequests, [{ limit: 20, schedule: 'nightly', states: [], createdWithinMs: 0 }]);
  const json = JSON.parse(out.stdout.text) as { buildId: string; schedule: string | null; git: unknown }[];
  assert.deepEqual(json.map((b) => [b.buildId, b.schedule, b.git]), [['b9', 'nightly', git]]);
  const all = io(f);
  assert.equal(await runCli(['builds', '--output', 'json'], all), 0);
  assert.deepEqual(f.listRequests[1], { limit: 20, schedule: '', states: [], createdWithinMs: 0 });
  assert.deepEqual((JSON.parse(all.stdout.text) as { schedule: string | null; git: unknown }[]).map((b) => [b.schedule, b.git]), [['nightly', git], [null, null]]);
  const table = io(f);
  assert.equal(await runCli(['builds', '--schedule', 'nightly'], table), 0);
  assert.deepEqual(table.stdout.lines.map((l) => l.split(/ +/)[0]), ['ID', 'b9']);
  const none = io(f);
  assert.equal(await runCli(['builds', '--schedule', 'weekly'], none), 0);
  assert.equal(none.stderr.text, `no builds of schedule weekly on the coordinator at ${f.address}\n`);
});
