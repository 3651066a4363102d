import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, submitDetached, waitFor } from './support/builds';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';
import { OutageProxy } from './support/outage-proxy';
import { run } from './support/processes';

/** Short leases and retries so a lost agent is noticed in seconds, not the default 30 s. */
const FAST = ['--lease-ttl', '4s', '--retry-base-delay', '1s'];
const ended = (b: { state: string }) => ['published', 'failed', 'cancelled'].includes(b.state);

/**
 * A Dockerfile whose RUN step is still going a few seconds after it printed `<marker>-start`.
 * The quotes keep that text out of the step's own name line, so the log shows it only once
 * the step really runs.
 */
async function slowContext(marker: string, seconds: number): Promise<string> {
  return makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${marker}-st''art; sleep ${seconds}; echo ${marker}-do''ne\n` });
}

async function logsContain(fleet: TestFleet, id: string, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fleet.cli(['logs', id])).stdout.includes(text)) {
    if (Date.now() > deadline) throw new Error(`log of ${id} never showed "${text}"\n${fleet.logs.join('').slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('never lose a build', () => {
  let fleet: TestFleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });
  after(() => testRegistry());

  test('kill -9 an agent mid-job: the job finishes on another agent, published once, two attempts', async () => {
    fleet = await TestFleet.start(
      [
        { name: 'a1', platforms: 'linux/amd64', slots: 1 },
        { name: 'a2', platforms: 'linux/amd64', slots: 1 },
      ],
      { coordinatorArgs: FAST },
    );
    const marker = randomBytes(4).toString('hex');
    const tag = `${testRegistry()}/${uniqueRepository('killagent')}:1`;
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tag, await slowContext(marker, 6)]);
    await logsContain(fleet, id, `${marker}-start`);
    const first = (await inspect(fleet, id)).platforms[0]!.attempts[0]!;
    await fleet.killAgent(first.agent, 'SIGKILL');
    const done = await waitFor(fleet, id, ended, 120_000, 'the build to end after the agent was killed');
    assert.equal(done.state, 'published', JSON.stringify(done.error));
    const attempts = done.platforms[0]!.attempts;
    assert.equal(attempts.length, 2);
    assert.deepEqual([attempts[0]!.agent, attempts[0]!.outcome], [first.agent, 'lost']);
    assert.equal(attempts[1]!.outcome, 'succeeded');
    assert.notEqual(attempts[1]!.agent, first.agent, 'another agent took the job');
    assert.equal(fleet.coordinatorLines('build published').length, 1, 'published exactly once');
    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
  });

  test('kill -9 the coordinator mid-build and start it again: finished once, no job run twice, logs byte-identical', async () => {
    // A lease long enough to outlast the restart: the agent keeps its jobs only while its lease may still be valid.
    fleet = await TestFleet.start([{ name: 'steady', platforms: 'linux/amd64,linux/arm64', slots: 2 }], { coordinatorArgs: ['--lease-ttl', '15s', '--retry-base-delay', '1s'], fixedPort: true });
    const marker = randomBytes(4).toString('hex');
    const tag = `${testRegistry()}/${uniqueRepository('killcoord')}:1`;
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64,linux/arm64', '-t', tag, await slowContext(marker, 5)]);
    await logsContain(fleet, id, `${marker}-start`);
    await fleet.killCoordinator();
    await new Promise((r) => setTimeout(r, 1500));
    await fleet.restartCoordinator();
    const done = await waitFor(fleet, id, ended, 120_000, 'the build to end after the coordinator restarted');
    assert.equal(done.state, 'published', JSON.stringify(done.error));
    for (const p of done.platforms) {
      assert.equal(p.attempts.length, 1, `${p.platform} ran once: the agent kept running it and resumed`);
      assert.equal(p.attempts[0]!.outcome, 'succeeded');
    }
    assert.equal(fleet.coordinatorLines('build published').length, 1, 'published exactly once');
    for (const [i, platform] of ['linux/amd64', 'linux/arm64'].entries()) {
      const shown = await fleet.cli(['logs', id, '--platform', platform]);
      const produced: string = await readFile(join(fleet.agentStateDir('steady'), 'logs', `${id}-${i}.1.log`), 'utf8');
      assert.ok(produced.includes(`${marker}-done`));
      assert.equal(shown.stdout, produced, `${platform}: the coordinator's log is byte-identical to the agent's`);
    }
  });

  test('the registry stops for 10 s during the merge: the build still finishes', async () => {
    const [host, port] = testRegistry().split(':') as [string, string];
    const proxy = new OutageProxy({ host, port: Number(port) }, /^GET \/v2\/.+\/manifests\//, 10_000);
    await proxy.start();
    try {
      fleet = await TestFleet.start([{ name: 'solo', platforms: 'linux/amd64,linux/s390x' }]);
      const tag = `127.0.0.1:${proxy.port}/${uniqueRepository('outage')}:1`;
      const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${randomBytes(4).toString('hex')}\n` });
      const res = await fleet.cli(['build', '--platform', 'linux/amd64,linux/s390x', '-t', tag, ctx]);
      assert.equal(res.code, 0, res.stderr + fleet.logs.join('').slice(-3000));
      assert.ok(proxy.outage?.end, 'the outage happened during the merge');
      assert.ok(fleet.coordinatorLines('publish failed, retrying').length >= 1, 'the coordinator retried the merge');
      const raw = await skopeoInspect(tag);
      assert.equal(raw.code, 0, raw.stderr);
    } finally {
      await proxy.stop();
    }
  });

  test('cancel mid-build: within 5 s no build of the job runs on the engine, and no tag', async () => {
    fleet = await TestFleet.start([{ name: 'c1', platforms: 'linux/amd64' }]);
    const seconds = 3000 + Math.floor(Math.random() * 900);
    const tag = `${testRegistry()}/${uniqueRepository('cancel')}:1`;
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tag, await slowContext('c', seconds)]);
    await logsContain(fleet, id, 'c-start');
    const sleeping = async () => (await run('pgrep', ['-f', `sleep ${seconds}`])).stdout.trim();
    for (let i = 0; i < 40 && (await sleeping()) === ''; i++) await new Promise((r) => setTimeout(r, 250));
    assert.notEqual(await sleeping(), '', 'the RUN step is running on the engine');
    const res = await fleet.cli(['cancel', id]);
    assert.equal(res.code, 0, res.stderr);
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(await sleeping(), '', 'the engine stopped the build');
    assert.equal((await inspect(fleet, id)).state, 'cancelled');
    assert.notEqual((await skopeoInspect(tag)).code, 0, 'no tag');
  });

  test('--smoke fails a build whose arm/v7 image exits non-zero, and passes a good one', async () => {
    fleet = await TestFleet.start([{ name: 's1', platforms: 'linux/amd64,linux/arm/v7' }]);
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${randomBytes(4).toString('hex')}\n` });
    const bad = `${testRegistry()}/${uniqueRepository('smoke-bad')}:1`;
    const failing = await fleet.cli(['build', '--platform', 'linux/amd64,linux/arm/v7', '-t', bad, '--smoke', 'sh -c "echo on $(uname -m); test $(uname -m) != armv7l"', ctx]);
    assert.notEqual(failing.code, 0);
    assert.match(failing.stderr, /linux\/arm\/v7 failed/);
    assert.match(failing.stderr, /smoke: on armv7l/);
    assert.notEqual((await skopeoInspect(bad)).code, 0, 'nothing published');
    const good = `${testRegistry()}/${uniqueRepository('smoke-good')}:1`;
    const passing = await fleet.cli(['build', '--platform', 'linux/amd64,linux/arm/v7', '-t', good, '--smoke', 'uname -m', '--progress', 'plain', ctx]);
    assert.equal(passing.code, 0, passing.stderr);
    assert.match(passing.stderr, /smoke: armv7l/);
  });

  test('--allow-partial publishes the good platforms and exits with a distinct status', async () => {
    fleet = await TestFleet.start([{ name: 'p1', platforms: 'linux/amd64,linux/s390x' }]);
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN test "$(uname -m)" != s390x\n` });
    const tag = `${testRegistry()}/${uniqueRepository('partial')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64,linux/s390x', '-t', tag, '--allow-partial', ctx]);
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, /linux\/s390x left out/);
    const index = JSON.parse((await skopeoInspect(tag)).stdout) as { manifests: Array<{ platform: { architecture: string } }> };
    // Without the attestation manifests (unknown/unknown, provenance) that follow the platform images.
    assert.deepEqual(index.manifests.map((m) => m.platform.architecture).filter((a) => a !== 'unknown'), ['amd64']);
  });

  test('--timeout stops a build that runs too long', async () => {
    fleet = await TestFleet.start([{ name: 't1', platforms: 'linux/amd64' }]);
    const tag = `${testRegistry()}/${uniqueRepository('timeout')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, '--timeout', '4s', await slowContext('t', 120)]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /--timeout/);
    assert.notEqual((await skopeoInspect(tag)).code, 0, 'no tag');
  });
});
