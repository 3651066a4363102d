import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pushMultiBase, replacePlatformBase } from './support/base-images';
import { baseImage, makeContext } from './support/context';
import { TestFleet } from './support/fleet';
import { TestGitRepo } from './support/git-daemon';
import { testRegistry, uniqueRepository } from './support/registry';

/**
 * Scheduled rebuilds (issue 16) on a real coordinator, agent, engine and registry: node-cron
 * ticks, no overlap, --on-base-change against a base whose arm64 image alone moves, a tick
 * missed across a kill -9, and refusals that store nothing.
 */
let fleet: TestFleet;

before(async () => {
  testRegistry();
  fleet = await TestFleet.start([{ name: 'sched-agent', platforms: 'linux/amd64,linux/arm64', slots: 2 }], { fixedPort: true });
});

after(async () => {
  await fleet?.stop();
});

interface Tick {
  cause: string;
  outcome: string;
  reason: string | null;
  buildId: string | null;
  dueAt: string;
  bases: Array<{ platform: string; ref: string; digest: string }>;
}
interface Shown {
  name: string;
  paused: boolean;
  nextRuns: string[];
  ticks: Tick[];
}
interface BuildJson {
  buildId: string;
  state: string;
  schedule: string;
  createdAt: string;
  finishedAt: string | null;
}

async function cliOk(args: string[]): Promise<string> {
  const res = await fleet.cli(args);
  assert.equal(res.code, 0, `archfarm ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

async function show(name: string): Promise<Shown> {
  return JSON.parse(await cliOk(['schedules', 'show', name, '--output', 'json'])) as Shown;
}

async function scheduleBuilds(name: string): Promise<BuildJson[]> {
  return JSON.parse(await cliOk(['builds', '--schedule', name, '--output', 'json'])) as BuildJson[];
}

/** Polls `schedules show` until `done` holds for its ticks (oldest first). */
async function ticksUntil(name: string, done: (ticks: Tick[]) => boolean, timeoutMs = 90_000): Promise<Tick[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ticks = (await show(name)).ticks.reverse();
    if (done(ticks)) return ticks;
    if (Date.now() > deadline) assert.fail(`schedule ${name}: ticks never got there: ${JSON.stringify(ticks, null, 1)}`);
    await sleep(500);
  }
}

async function waitPublished(id: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const b = JSON.parse(await cliOk(['builds', 'inspect', id, '--output', 'json'])) as { state: string };
    if (b.state === 'published') return;
    assert.ok(!['failed', 'cancelled'].includes(b.state), `build ${id} ended ${b.state}`);
    assert.ok(Date.now() < deadline, `build ${id} still ${b.state}`);
    await sleep(500);
  }
}

test('a six-field cron every 5 s builds twice in 15 s; a build longer than the period is never overlapped', async () => {
  const repo = `${testRegistry()}/${uniqueRepository('sched')}`;
  const quick = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo quick > /quick\n` });
  // --no-cache: each build really runs its 12 s step, longer than two periods.
  const slow = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN sleep 12 && echo slow > /slow\n` });
  await cliOk(['schedules', 'add', 'every5', '--cron', '*/5 * * * * *', '--platform', 'linux/amd64', '-t', `${repo}:quick`, quick]);
  const added = await show('every5');
  assert.equal(added.nextRuns.length, 5, 'add shows the next five runs');
  await cliOk(['schedules', 'add', 'slow5', '--cron', '*/5 * * * * *', '--platform', 'linux/amd64', '--no-cache', '-t', `${repo}:slow`, slow]);

  // Fifteen seconds from the first due time hold three ticks: at least two of them built.
  const first = Date.parse(added.nextRuns[0]!);
  await sleep(Math.max(0, first + 15_000 - Date.now()));
  await cliOk(['schedules', 'pause', 'every5']);
  const quickTicks = (await show('every5')).ticks.filter((t) => Date.parse(t.dueAt) < first + 15_000);
  const built = quickTicks.filter((t) => t.outcome === 'built');
  assert.ok(built.length >= 2, `two builds in 15 s: ${JSON.stringify(quickTicks)}`);
  for (const t of built) assert.equal(t.cause, 'scheduled');
  const ids = new Set((await scheduleBuilds('every5')).map((b) => b.buildId));
  for (const t of built) assert.ok(ids.has(t.buildId!), `builds --schedule lists ${t.buildId}`);

  // The slow schedule: ticks while its build runs are skipped, naming the build.
  const slowTicks = await ticksUntil('slow5', (ticks) => ticks.filter((t) => t.outcome === 'built').length >= 2 && ticks.some((t) => t.outcome === 'skipped'));
  await cliOk(['schedules', 'pause', 'slow5']);
  const skipped = slowTicks.find((t) => t.outcome === 'skipped')!;
  assert.match(skipped.reason ?? '', /^build \S+ of this schedule is still (running|publishing): a schedule never runs two builds of itself at once$/);
  const builds = await scheduleBuilds('slow5');
  assert.ok(builds.length >= 2);
  for (const b of builds) assert.equal(b.schedule, 'slow5', 'builds --schedule lists that schedule\'s builds only');
  for (const b of builds) if (b.state === 'running' || b.state === 'publishing') await waitPublished(b.buildId);
  const spans = (await scheduleBuilds('slow5'))
    .map((b) => [Date.parse(b.createdAt), Date.parse(b.finishedAt!)] as const)
    .sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `build ${i} started before build ${i - 1} ended: ${JSON.stringify(spans)}`);
});

test('--on-base-change: an unchanged base builds nothing and says so; a new arm64 base alone makes the next tick build, naming its digests', async () => {
  const repo = `${testRegistry()}/${uniqueRepository('sched-base')}`;
  const base = await pushMultiBase(`${repo}:base`, ['linux/amd64', 'linux/arm64']);
  const ctx = await makeContext({ Dockerfile: `ARG BASE\nFROM \${BASE}\nRUN echo app > /app\n` });
  // Never fires on its own in this test: each tick is `schedules run`, as the cron would run it.
  await cliOk(['schedules', 'add', 'on-base', '--cron', '0 3 * * *', '--timezone', 'Europe/Zurich', '--on-base-change', '--platform', 'linux/amd64,linux/arm64', '--build-arg', `BASE=${base.ref}`, '-t', `${repo}:app`, ctx]);

  const run = async (): Promise<Tick> => JSON.parse(await cliOk(['schedules', 'run', 'on-base', '--output', 'json'])) as Tick;
  const firstTick = await run();
  assert.equal(firstTick.outcome, 'built', JSON.stringify(firstTick));
  assert.equal(firstTick.reason, 'no published build of this schedule yet');
  assert.deepEqual(
    firstTick.bases.map((b) => [b.platform, b.ref, b.digest]),
    ['linux/amd64', 'linux/arm64'].map((p) => [p, base.ref, base.manifests[p]]),
    'each platform resolved to its own manifest',
  );
  await waitPublished(firstTick.buildId!);

  const unchanged = await run();
  assert.equal(unchanged.outcome, 'unchanged');
  assert.equal(unchanged.buildId, null);
  assert.match(unchanged.reason ?? '', new RegExp(`^bases unchanged since build ${firstTick.buildId} \\(1 image on 2 platforms\\)$`));

  const moved = await replacePlatformBase(base.ref, 'linux/arm64');
  const changed = await run();
  assert.equal(changed.outcome, 'built', JSON.stringify(changed));
  assert.equal(changed.reason, `base ${base.ref} linux/arm64 changed ${moved.old} -> ${moved.new}`);
  await waitPublished(changed.buildId!);
  // The build inspect of it shows the bases its engine used, per platform.
  const details = JSON.parse(await cliOk(['builds', 'inspect', changed.buildId!, '--output', 'json'])) as { schedule: string; platforms: Array<{ platform: string; bases: unknown[] }> };
  assert.equal(details.schedule, 'on-base');
  assert.deepEqual((await scheduleBuilds('on-base')).map((b) => b.buildId), [changed.buildId, firstTick.buildId]);
  for (const p of details.platforms) assert.equal(p.bases.length, 1, `${p.platform} records its base`);
  await cliOk(['schedules', 'rm', 'on-base']);
});

test('a tick missed while the coordinator was killed -9 runs once at start, and says so', async () => {
  const repo = `${testRegistry()}/${uniqueRepository('sched-missed')}`;
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo missed > /m\n` });
  await cliOk(['schedules', 'add', 'missed10', '--cron', '*/10 * * * * *', '--platform', 'linux/amd64', '-t', `${repo}:m`, ctx]);
  const [first] = await ticksUntil('missed10', (ticks) => ticks.some((t) => t.outcome === 'built'), 60_000);
  await waitPublished(first!.buildId!);
  const due = Date.parse((await show('missed10')).nextRuns[0]!);
  await fleet.killCoordinator();
  // Down across the next due time (and the one after: several missed ticks still run once).
  await sleep(Math.max(0, due + 11_000 - Date.now()));
  await fleet.restartCoordinator();
  const ticks = await ticksUntil('missed10', (all) => all.some((t) => t.cause === 'missed'), 60_000);
  await cliOk(['schedules', 'pause', 'missed10']);
  const missed = ticks.filter((t) => t.cause === 'missed');
  assert.equal(missed.length, 1, `one missed tick: ${JSON.stringify(ticks)}`);
  assert.equal(Date.parse(missed[0]!.dueAt), due, 'it stands for the first tick missed');
  assert.match(missed[0]!.reason ?? '', new RegExp(`^missed tick due ${new Date(due).toISOString()} while the coordinator was down, run once at start: `));
  assert.equal(missed[0]!.outcome, 'built');
  await waitPublished(missed[0]!.buildId!);
});

test('bad input is refused naming the field, and nothing is stored', async () => {
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\n` });
  const tag = `${testRegistry()}/${uniqueRepository('sched-bad')}:1`;
  await cliOk(['schedules', 'add', 'kept', '--cron', '0 3 * * *', '--platform', 'linux/amd64', '-t', tag, ctx]);
  const before = JSON.parse(await cliOk(['schedules', 'list', '--output', 'json'])) as Shown[];
  const refused = async (args: string[], text: RegExp) => {
    const res = await fleet.cli(['schedules', 'add', ...args]);
    assert.notEqual(res.code, 0, `refused: ${args.join(' ')}`);
    assert.match(res.stderr, text);
  };
  await refused(['bad-cron', '--cron', '61 * * * *', '--platform', 'linux/amd64', '-t', tag, ctx], /cron: "61 \* \* \* \*" is not a valid cron expression/);
  await refused(['bad-tz', '--cron', '0 3 * * *', '--timezone', 'Mars/Olympus', '--platform', 'linux/amd64', '-t', tag, ctx], /timezone: "Mars\/Olympus" is not an IANA time zone/);
  await refused(['kept', '--cron', '0 4 * * *', '--platform', 'linux/amd64', '-t', tag, ctx], /name: a schedule "kept" already exists/);
  await refused(['no-ctx', '--cron', '0 3 * * *', '--platform', 'linux/amd64', '-t', tag, `${ctx}/not-there`], /CONTEXT_DIR: .*not-there/);
  const after = JSON.parse(await cliOk(['schedules', 'list', '--output', 'json'])) as Shown[];
  assert.deepEqual(after.map((s) => s.name), before.map((s) => s.name));
  const kept = await show('kept');
  assert.equal(kept.ticks.length, 0);
  assert.equal((after.find((s) => s.name === 'kept') as Shown & { cron: string }).cron, '0 3 * * *', 'the duplicate did not replace it');
});

test('a schedule of a git context fetches the ref at each tick: --on-base-change builds on a new commit, records it, and not otherwise', async () => {
  const repo = await TestGitRepo.start();
  try {
    const tag = `${testRegistry()}/${uniqueRepository('sched-git')}:1`;
    const first = repo.commit({ 'sub/Dockerfile': `FROM ${baseImage()}\nCOPY v /v\n`, 'sub/v': 'one\n' });
    await cliOk(['schedules', 'add', 'from-git', '--cron', '0 3 * * *', '--on-base-change', '--platform', 'linux/amd64', '-t', tag, `${repo.url}#main:sub`]);
    const run = async (): Promise<Tick & { commit: string | null }> => JSON.parse(await cliOk(['schedules', 'run', 'from-git', '--output', 'json'])) as Tick & { commit: string | null };
    const built = await run();
    assert.deepEqual([built.outcome, built.commit], ['built', first]);
    await waitPublished(built.buildId!);
    const inspected = JSON.parse(await cliOk(['builds', 'inspect', built.buildId!, '--output', 'json'])) as { git: { url: string; ref: string; subdir: string; commit: string } };
    assert.deepEqual(inspected.git, { url: repo.url, ref: 'main', subdir: 'sub', commit: first });
    const same = await run();
    assert.equal(same.outcome, 'unchanged', JSON.stringify(same));
    const second = repo.commit({ 'sub/v': 'two\n' });
    const again = await run();
    assert.deepEqual([again.outcome, again.commit, again.reason], ['built', second, `git commit changed ${first} -> ${second}`]);
    await waitPublished(again.buildId!);
    await cliOk(['schedules', 'rm', 'from-git']);
  } finally {
    await repo.stop();
  }
});

test('a builder manages only its own schedules; a viewer sees them; an admin manages all', async () => {
  const token = async (role: string): Promise<string> => (JSON.parse(await cliOk(['tokens', 'create', '--role', role, '--output', 'json'])) as { token: string }).token;
  const [alice, bob, viewer] = [await token('builder'), await token('builder'), await token('viewer')];
  const as = (t: string) => ({ ARCHFARM_TOKEN: t });
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\n` });
  const tag = `${testRegistry()}/${uniqueRepository('sched-owner')}:1`;
  const added = await fleet.cli(['schedules', 'add', 'alices', '--cron', '0 3 * * *', '--platform', 'linux/amd64', '-t', tag, ctx], as(alice));
  assert.equal(added.code, 0, added.stderr);
  const refusedToBob = await fleet.cli(['schedules', 'pause', 'alices'], as(bob));
  assert.notEqual(refusedToBob.code, 0);
  assert.match(refusedToBob.stderr, /added by another token; a builder manages only its own schedules/);
  assert.notEqual((await fleet.cli(['schedules', 'rm', 'alices'], as(bob))).code, 0);
  const seen = await fleet.cli(['schedules', 'show', 'alices', '--output', 'json'], as(viewer));
  assert.equal(seen.code, 0, seen.stderr);
  assert.notEqual((await fleet.cli(['schedules', 'run', 'alices'], as(viewer))).code, 0, 'a viewer cannot run one');
  assert.equal((await fleet.cli(['schedules', 'pause', 'alices'], as(alice))).code, 0);
  assert.equal((await show('alices')).paused, true);
  // The admin token (the fleet's own) removes anyone's.
  await cliOk(['schedules', 'rm', 'alices']);
  const gone = await fleet.cli(['schedules', 'show', 'alices']);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /schedule "alices" not found/);
});
