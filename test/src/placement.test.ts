import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, submitDetached, waitFor, type Inspected } from './support/builds';
import { testRegistry, uniqueRepository } from './support/registry';

const ended = (b: { state: string }) => ['published', 'failed', 'cancelled'].includes(b.state);
const tagFor = (name: string) => `${testRegistry()}/${uniqueRepository(name)}:1`;
const sleeper = (seconds: number) => makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${randomBytes(4).toString('hex')}-start; sleep ${seconds}\n` });

interface Timed {
  agent: string;
  start: number;
  end: number;
}

/** The most attempts that ran at once on one agent, from their recorded start and end. */
function maxConcurrency(attempts: Timed[], agent: string): number {
  const edges = attempts
    .filter((a) => a.agent === agent)
    .flatMap((a) => [
      [a.start, 1],
      [a.end, -1],
    ])
    .sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let now = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (now += delta!));
  return most;
}

function timedAttempts(builds: Inspected[]): Timed[] {
  return builds.flatMap((b) =>
    b.platforms.flatMap((p) =>
      p.attempts.map((a) => ({ agent: a.agent, start: Date.parse(a.start), end: Date.parse(a.end ?? '') })),
    ),
  );
}

describe('placement across a fleet', () => {
  let fleet: TestFleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  test('ten concurrent builds on two agents with 2 slots each: never more than 2 jobs on one agent, all finish', async () => {
    fleet = await TestFleet.start([
      { name: 'w1', platforms: 'linux/amd64', slots: 2 },
      { name: 'w2', platforms: 'linux/amd64', slots: 2 },
    ]);
    const ids = await Promise.all(Array.from({ length: 10 }, async () => submitDetached(fleet!, ['--platform', 'linux/amd64', '-t', tagFor('ten'), await sleeper(2)])));
    const done = await Promise.all(ids.map((id) => waitFor(fleet!, id, ended, 180_000, `build ${id}`)));
    for (const b of done) assert.equal(b.state, 'published', JSON.stringify(b.error));
    const attempts = timedAttempts(done);
    assert.equal(attempts.length, 10);
    for (const agent of ['w1', 'w2']) {
      assert.ok(attempts.some((a) => a.agent === agent), `${agent} took jobs`);
      assert.ok(maxConcurrency(attempts, agent) <= 2, `${agent} ran at most its 2 slots at once`);
    }
  });

  test('a drained agent takes no new job while its running job finishes; --require-label is honoured', async () => {
    fleet = await TestFleet.start([
      { name: 'd1', platforms: 'linux/amd64', labels: ['who=d1'] },
      { name: 'd2', platforms: 'linux/amd64', labels: ['who=d2'] },
    ]);
    const first = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tagFor('drain1'), '--require-label', 'who=d1', await sleeper(5)]);
    await waitFor(fleet, first, (b) => b.platforms[0]!.state === 'running', 60_000, 'the first job to run');
    const drained = await fleet.cli(['agents', 'drain', 'd1']);
    assert.equal(drained.code, 0, drained.stderr);
    const listed = JSON.parse((await fleet.cli(['agents', '--output', 'json'])).stdout) as Array<{ name: string; status: string }>;
    assert.equal(listed.find((a) => a.name === 'd1')?.status, 'drained');
    const second = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tagFor('drain2'), await sleeper(1)]);
    const [a, b] = await Promise.all([first, second].map((id) => waitFor(fleet!, id, ended, 120_000, `build ${id}`)));
    assert.equal(a!.state, 'published', 'the drained agent finished its running job');
    assert.equal(a!.platforms[0]!.attempts[0]!.agent, 'd1', '--require-label who=d1 put it on d1');
    assert.equal(b!.state, 'published');
    assert.deepEqual(b!.platforms[0]!.attempts.map((x) => x.agent), ['d2'], 'no new job went to the drained agent');
    assert.equal((await fleet.cli(['agents', 'resume', 'd1'])).code, 0);
  });

  test('--emulation deny with no native agent for a platform fails at once, naming it', async () => {
    fleet = await TestFleet.start([{ name: 'x86', platforms: 'linux/amd64,linux/s390x' }]);
    const res = await fleet.cli(['build', '--platform', 'linux/amd64,linux/s390x', '-t', tagFor('deny'), '--emulation', 'deny', await sleeper(0)]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /linux\/s390x/);
    assert.match(res.stderr, /deny/);
  });

  test('--plan says where each platform will run and why, and the build then runs there', async () => {
    fleet = await TestFleet.start([
      { name: 'n1', platforms: 'linux/amd64,linux/arm64', slots: 3 },
      { name: 'n2', platforms: 'linux/arm64,linux/s390x', slots: 3 },
    ]);
    const ctx = await sleeper(0);
    const args = ['--platform', 'linux/amd64,linux/arm64,linux/s390x', '-t', tagFor('plan'), ctx];
    const planned = await fleet.cli(['build', '--plan', '--output', 'json', ...args]);
    assert.equal(planned.code, 0, planned.stderr);
    const plan = JSON.parse(planned.stdout) as Array<{ platform: string; agent: string; mode: string; reason: string }>;
    assert.deepEqual(plan.map((p) => p.platform), ['linux/amd64', 'linux/arm64', 'linux/s390x']);
    for (const p of plan) assert.ok(p.reason.length > 0, `${p.platform} has a reason`);
    assert.deepEqual(plan[0], { ...plan[0], agent: 'n1', mode: 'native' });
    const id = await submitDetached(fleet, args);
    const done = await waitFor(fleet, id, ended, 120_000, 'the planned build');
    assert.equal(done.state, 'published', JSON.stringify(done.error));
    for (const p of plan) {
      const ran = done.platforms.find((x) => x.platform === p.platform)!.attempts[0]!;
      assert.deepEqual([ran.agent, ran.mode], [p.agent, p.mode], `${p.platform} ran where the plan said`);
      assert.equal(ran.reason, p.reason, 'inspect shows the same reason');
    }
    const shown = await inspect(fleet, id);
    assert.equal(shown.platforms.length, 3);
  });
});
