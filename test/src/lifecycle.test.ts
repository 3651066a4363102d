import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { TestFleet } from './support/fleet';
import { AuthRegistry } from './support/auth-registry';
import { baseImage, makeContext } from './support/context';
import { waitFor } from './support/builds';
import { testRegistry, uniqueRepository } from './support/registry';
import { DelayProxy } from './support/delay-proxy';
import { collect } from './support/processes';
import { coordinatorTail, dockerConfigFor, ended, indexPlatforms, logsContain, manifestDigest, skopeoRaw, slowContext, submit } from './support/lifecycle';
import { HOLD_MS, MOMENTS, raceRound } from './support/cancel-race';

// End-to-end tests of issue 14's build lifecycle: real dockerd, real registries (one with
// htpasswd auth), real coordinator and agent processes.

const PLATFORMS = ['linux/amd64', 'linux/s390x'];

/** Every file under `root` as text, to look for a credential in the clear. */
async function allFiles(root: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const entry of await readdir(root, { recursive: true })) {
    const path = join(root, entry);
    if ((await stat(path)).isFile()) out.push([path, await readFile(path, 'latin1')]);
  }
  return out;
}

describe('a restarted coordinator resumes a build for a registry that needs a login', () => {
  const password = `pw-${randomBytes(12).toString('hex')}`;
  let registry: AuthRegistry;
  let fleet: TestFleet | undefined;
  let configDir: string | undefined;
  before(async () => {
    registry = await AuthRegistry.start('keeper', password);
  });
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
    if (configDir) await rm(configDir, { recursive: true, force: true });
    configDir = undefined;
  });
  after(() => registry?.stop());

  /**
   * Two platforms on one agent, kill -9 of the coordinator while both RUN steps sleep, a
   * restart on the same data dir and port: the build must publish to the htpasswd registry
   * with each job run once and the index written once.
   */
  async function killMidBuild(credentials: 'stored' | 'docker-config'): Promise<void> {
    // A lease that outlasts the restart, so the agent keeps its jobs and resumes them.
    fleet = await TestFleet.start([{ name: 'keeper', platforms: PLATFORMS.join(','), slots: 2 }], {
      coordinatorArgs: ['--lease-ttl', '15s', '--retry-base-delay', '1s'],
      fixedPort: true,
    });
    let env: NodeJS.ProcessEnv = {};
    let flags: string[] = [];
    if (credentials === 'stored') {
      const login = await fleet.cli(['registry', 'login', registry.address, '-u', 'keeper', '--password-stdin'], {}, `${password}\n`);
      assert.equal(login.code, 0, login.stderr);
      flags = ['--no-docker-config'];
    } else {
      configDir = await dockerConfigFor(registry.address, 'keeper', password);
      env = { DOCKER_CONFIG: configDir };
      // The operator's own login goes with the build only when asked (issue 15).
      flags = ['--forward-credentials'];
    }
    const marker = randomBytes(4).toString('hex');
    const tag = `${registry.address}/${uniqueRepository(`restart-${credentials}`)}:1`;
    const id = await submit(fleet, ['--platform', PLATFORMS.join(','), '-t', tag, ...flags, await slowContext(marker, 8)], env);
    for (const p of PLATFORMS) await logsContain(fleet, id, `${marker}-start`, p);
    const sofar = await fleet.cli(['logs', id]);
    assert.ok(!sofar.stdout.includes(`${marker}-done`), `the kill must land mid-build, yet a RUN step already ended:\n${sofar.stdout}`);
    await fleet.killCoordinator();
    await new Promise((r) => setTimeout(r, 1500));
    await fleet.restartCoordinator();
    const done = await waitFor(fleet, id, ended, 120_000, 'the build to end after the coordinator restarted');
    assert.equal(done.state, 'published', `build ${id} ${done.state}: ${JSON.stringify(done.error)}\n${coordinatorTail(fleet)}`);
    for (const p of done.platforms) {
      assert.deepEqual(p.attempts.map((a) => a.outcome), ['succeeded'], `${p.platform} ran once (its agent resumed it): ${JSON.stringify(p.attempts)}`);
    }
    assert.equal(fleet.coordinatorLines('build published').length, 1, `published exactly once\n${coordinatorTail(fleet)}`);
    for (const p of PLATFORMS) assert.match((await fleet.cli(['logs', id, '--platform', p])).stdout, new RegExp(`${marker}-done`), `${p}: the resumed job's log reached its end`);
    const raw = await skopeoRaw(tag, `keeper:${password}`);
    assert.equal(raw.code, 0, raw.stderr);
    assert.deepEqual(indexPlatforms(raw.stdout).filter((p) => !p.startsWith('unknown/')), PLATFORMS, raw.stdout);
    assert.equal(manifestDigest(raw.stdout), done.digest, 'the tag holds the index the build reports');
    assert.notEqual((await skopeoRaw(tag)).code, 0, 'the registry really demands a login');
    // The CLI's credentials outlive the restart only sealed: never in the clear on disk.
    for (const [path, text] of await allFiles(fleet.dir)) assert.ok(!text.includes(password), `the password is not in ${path}`);
  }

  test('credentials from `archfarm registry login`: kill -9 mid-build, restart; published once, each job ran once', { timeout: 180_000 }, () => killMidBuild('stored'));

  test("credentials only in the CLI's docker config: kill -9 mid-build, restart; published once, each job ran once", { timeout: 180_000 }, () =>
    killMidBuild('docker-config'));
});

describe('--wait-timeout bounds a retry', () => {
  let fleet: TestFleet | undefined;
  let building: ChildProcess | undefined;
  after(async () => {
    // A CLI that re-attaches until its build ends would outlive a failed test and hold the run open.
    if (building && building.exitCode === null && building.signalCode === null) building.kill('SIGKILL');
    await fleet?.stop();
  });

  test('the only s390x agent is killed mid-job: the build fails within --wait-timeout plus the lease, naming the platform', { timeout: 180_000 }, async (t) => {
    const leaseMs = 6000;
    const waitTimeoutMs = 20_000;
    fleet = await TestFleet.start([{ name: 'lonely', platforms: 'linux/s390x', slots: 1 }], {
      coordinatorArgs: ['--lease-ttl', `${leaseMs}ms`, '--heartbeat-interval', '1s', '--retry-base-delay', '500ms'],
    });
    const marker = randomBytes(4).toString('hex');
    const tag = `${testRegistry()}/${uniqueRepository('waittimeout')}:1`;
    // Attached, so its own answer is checked too; the build id comes from `builds`.
    building = fleet.spawnCli(['build', '--progress', 'plain', '--platform', 'linux/s390x', '--wait-timeout', '20s', '-t', tag, await slowContext(marker, 120)]);
    const answer = collect(building);
    const id = await onlyBuildId(fleet);
    await logsContain(fleet, id, `${marker}-start`);
    await fleet.killAgent('lonely', 'SIGKILL');
    const killedAt = Date.now();
    // An elapsed-time bound, allowed here because it is the timeout feature under test: the
    // lease runs out (6 s), the job is queued again, and --wait-timeout (20 s) must then end
    // it. 15 s of slack for polling and a loaded 2-core machine; not a performance claim.
    const boundMs = waitTimeoutMs + leaseMs + 15_000;
    const done = await waitFor(fleet, id, ended, boundMs, `the build to end within --wait-timeout + lease (${boundMs} ms) after its only agent died`);
    const elapsed = Date.now() - killedAt;
    t.diagnostic(`the build ended ${elapsed} ms after its agent was killed (bound ${boundMs} ms)`);
    assert.equal(done.state, 'failed', `${JSON.stringify(done)}\n${coordinatorTail(fleet)}`);
    assert.match(done.error?.message ?? '', /linux\/s390x/, `the error names the platform: ${JSON.stringify(done.error)}`);
    assert.equal(done.error?.code, 'NO_AGENT', `the wait-timeout's error: ${JSON.stringify(done.error)}`);
    const cli = await answer;
    t.diagnostic(`archfarm build exited ${cli.code}: ${cli.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    assert.notEqual(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /linux\/s390x/, `archfarm build names the platform:\n${cli.stderr.slice(-2000)}`);
    assert.ok(elapsed >= waitTimeoutMs - 1000, `it waited for --wait-timeout first (${elapsed} ms)`);
  });
});

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

describe('cancel racing publish', () => {
  let fleet: TestFleet | undefined;
  let proxy: DelayProxy | undefined;
  after(async () => {
    await fleet?.stop();
    await proxy?.stop();
  });

  test("the CLI's answer matches the registry: the tag is there iff it says published", { timeout: 240_000 }, async (t) => {
    const [host, port] = testRegistry().split(':') as [string, string];
    proxy = new DelayProxy({ host, port: Number(port) }, [
      { match: /^GET \/v2\/test\/race-\S+\/manifests\/sha256:/, delayMs: HOLD_MS },
      { match: /^PUT \/v2\/test\/race-\S+\/manifests\/1 /, delayMs: HOLD_MS },
    ]);
    await proxy.start();
    fleet = await TestFleet.start([{ name: 'racer', platforms: 'linux/amd64', slots: 1 }]);
    // Cached after the first round: the job is over in a second or two and the race is at the publish.
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo cancel-race\n` });
    const sides = { cancelled: 0, published: 0, landedWhilePublishing: 0 };
    for (const [round, moment] of MOMENTS.entries()) {
      const outcome = await raceRound(fleet, proxy, ctx, moment);
      sides[outcome.side]++;
      if (outcome.whilePublishing) sides.landedWhilePublishing++;
      t.diagnostic(`round ${round} (${moment}): ${outcome.side}${outcome.whilePublishing ? ', the cancel arrived while publishing' : ''}`);
    }
    t.diagnostic(`sides: ${JSON.stringify(sides)}`);
    if (process.env.ARCHFARM_TEST_VERBOSE) t.diagnostic(proxy.seen.map((r) => `${r.at} ${r.forwardedAt ?? '-'} ${r.line}`).join('\n'));
    assert.ok(sides.landedWhilePublishing >= 1, `at least one cancel arrived while the build was publishing: ${JSON.stringify(sides)}\n${coordinatorTail(fleet)}`);
  });
});
