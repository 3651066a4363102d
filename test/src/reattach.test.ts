import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { TestFleet } from './support/fleet';
import { inspect } from './support/builds';
import { testRegistry, uniqueRepository } from './support/registry';
import { collect, type RunResult } from './support/processes';
import { coordinatorTail, logsContain } from './support/lifecycle';
import { notOnce, numberedContext, numbersPerPlatform } from './support/numbered-log';

// Issue 14: `archfarm build` and `archfarm logs -f`, attached while the coordinator is
// killed -9 and restarted, carry on to the build's end with each log line shown once.

const PLATFORMS = ['linux/amd64', 'linux/arm64'];
const LINES = 40;

describe('the CLI re-attaches across a coordinator restart', () => {
  let fleet: TestFleet | undefined;
  const clis: ChildProcess[] = [];
  after(async () => {
    // A CLI that re-attaches until its build ends would outlive a failed test and hold the run open.
    for (const c of clis) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await fleet?.stop();
  });

  test('build and logs -f, attached through kill -9 and restart: exit 0 with the digest, every numbered line once per platform', { timeout: 240_000 }, async (t) => {
    // A lease that outlasts the restart, so the agent keeps its jobs and resumes them.
    fleet = await TestFleet.start([{ name: 'steady', platforms: PLATFORMS.join(','), slots: 2 }], {
      coordinatorArgs: ['--lease-ttl', '15s', '--retry-base-delay', '1s'],
      fixedPort: true,
    });
    const marker = `m${randomBytes(4).toString('hex')}`;
    const tag = `${testRegistry()}/${uniqueRepository('reattach')}:1`;
    const building = fleet.spawnCli(['build', '--progress', 'plain', '--platform', PLATFORMS.join(','), '-t', tag, await numberedContext(marker, LINES, 0.5)]);
    clis.push(building);
    const built = collect(building);
    const id = await onlyBuildId(fleet);
    const following = fleet.spawnCli(['logs', '-f', id]);
    clis.push(following);
    const followed = collect(following);
    for (const p of PLATFORMS) await logsContain(fleet, id, `${marker}-n3\n`, p);
    const sofar = (await fleet.cli(['logs', id])).stdout;
    assert.ok(!sofar.includes(`${marker}-n${LINES}\n`), `the kill must land mid-build, yet a RUN step already ended:\n${sofar}`);

    await fleet.killCoordinator();
    await new Promise((r) => setTimeout(r, 1500));
    await fleet.restartCoordinator();

    const [build, logs] = await Promise.all([built, followed]);
    const done = await inspect(fleet, id);
    t.diagnostic(`build: exit ${build.code}; ${notes(build)}`);
    t.diagnostic(`logs -f: exit ${logs.code}; ${notes(logs)}`);
    assert.equal(done.state, 'published', `${JSON.stringify(done)}\n${coordinatorTail(fleet)}`);
    for (const p of done.platforms) assert.deepEqual(p.attempts.map((a) => a.outcome), ['succeeded'], `${p.platform} ran once: ${JSON.stringify(p.attempts)}`);

    assert.equal(build.code, 0, build.stderr.slice(-3000));
    assert.equal(build.stdout, `${done.digest}\n`, 'the digest of the published index, alone on stdout');
    checkLines('build', marker, build.stderr, build.stderr);
    // Its progress is on the same stream as the notes: the end of the log came after the re-attach.
    const afterReattach = numbersPerPlatform(build.stderr.slice(build.stderr.indexOf('archfarm: re-attached')), marker);
    for (const p of PLATFORMS) assert.ok(afterReattach.get(p)?.has(LINES), `build: ${p}'s last line came after the re-attach`);
    // Job states the re-attached stream repeats are not shown again.
    for (const p of PLATFORMS) assert.equal(build.stderr.split('\n').filter((l) => l.startsWith(`[${p}] pushed sha256:`)).length, 1, `build: one "pushed" line for ${p}\n${build.stderr.slice(-3000)}`);
    if (process.env.ARCHFARM_TEST_VERBOSE) t.diagnostic(build.stderr);
    assert.equal(logs.code, 0, logs.stderr);
    checkLines('logs -f', marker, logs.stdout, logs.stderr);
  });
});

/** The notes on stderr, and each numbered line of `text` once per platform. */
function checkLines(what: string, marker: string, text: string, stderr: string): void {
  assert.match(stderr, /^archfarm: lost the coordinator \(.+\); re-attaching$/m, `${what}: the loss is said on stderr`);
  assert.match(stderr, /^archfarm: re-attached$/m, `${what}: the re-attach is said on stderr`);
  const counts = numbersPerPlatform(text, marker);
  for (const p of PLATFORMS) assert.deepEqual(notOnce(counts.get(p), LINES), [], `${what}: ${p}'s lines 1..${LINES} each once\n${text.slice(-4000)}`);
}

/** The loss and re-attach lines a CLI printed, for the diagnostics. */
function notes(res: RunResult): string {
  return res.stderr.split('\n').filter((l) => l.startsWith('archfarm: ')).join(' | ') || 'no re-attach notes';
}

/** Polls `archfarm builds` until the fleet has exactly one build, and returns its id. */
async function onlyBuildId(fleet: TestFleet, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fleet.cli(['builds', '--output', 'json']);
    const builds = res.code === 0 ? (JSON.parse(res.stdout) as Array<{ buildId: string }>) : [];
    if (builds.length === 1) return builds[0]!.buildId;
    if (Date.now() > deadline) throw new Error(`no build appeared: ${res.stderr}\n${coordinatorTail(fleet)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
