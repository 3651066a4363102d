/**
 * Issue 14, end to end with real engines and the loopback registry: an agent frozen (SIGSTOP)
 * past its lease keeps its connection while the coordinator moves its job to another agent.
 * On SIGCONT it must stop the stale job on its engine within 10 s, take a new job in the slot,
 * and none of its stale output may reach the new attempt's log.
 *
 * The other agent builds on the host's second engine (dockerd 26): BuildKit merges identical
 * steps of concurrent builds on one engine, so two agents on one dockerd would share the very
 * RUN process whose end the test watches for.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, submitDetached, waitFor } from './support/builds';
import { DOCKER26_HOST, requireDocker26 } from './support/docker26';
import { coordinatorTail, logsContain } from './support/lifecycle';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';

const LEASE = ['--lease-ttl', '4s', '--retry-base-delay', '1s'];

/** Pids of the processes whose command line holds `marker` (the RUN step's shell, run by runc on this host). */
async function processesOf(marker: string): Promise<number[]> {
  const res = await run('pgrep', ['-f', marker]);
  return res.stdout.split('\n').filter(Boolean).map(Number);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let fleet: TestFleet | undefined;
let frozen: ChildProcess | undefined;
afterEach(async () => {
  if (frozen?.pid && frozen.exitCode === null) process.kill(frozen.pid, 'SIGCONT'); // never leave a stopped process behind
  frozen = undefined;
  await fleet?.stop();
  fleet = undefined;
});
after(() => testRegistry());

test('SIGSTOP an agent until its job runs elsewhere, then SIGCONT: within 10 s its engine stops the stale job, its slot takes a new one, and the new attempt log holds none of the stale lines', async () => {
  await requireDocker26();
  fleet = await TestFleet.start([], { coordinatorArgs: LEASE });
  const a = await fleet.addAgent({ name: 'stale-a', platforms: 'linux/amd64', slots: 1, labels: ['who=stale-a'] });
  await fleet.waitForAgents(['stale-a']);
  const marker = `mk${randomBytes(5).toString('hex')}`;
  // Every line unique (a fresh uuid), so a stale line is told apart from the new attempt's own.
  const ctx = await makeContext({
    Dockerfile: `FROM ${baseImage()}\nRUN i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "${marker}-line-$i-$(cat /proc/sys/kernel/random/uuid)"; sleep 0.2; done\n`,
  });
  const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', `${testRegistry()}/${uniqueRepository('stale')}:1`, ctx]);
  await logsContain(fleet, id, `${marker}-line-3-`);
  const stale = await processesOf(marker);
  assert.ok(stale.length > 0, "the stale job's RUN step runs on the host");

  // The second agent joins only now, so the job is surely the first one's.
  await fleet.addAgent({ name: 'stale-b', platforms: 'linux/amd64', slots: 1, labels: ['who=stale-b'], dockerHost: DOCKER26_HOST });
  await fleet.waitForAgents(['stale-b']);
  frozen = a;
  process.kill(a.pid!, 'SIGSTOP');
  const moved = await waitFor(fleet, id, (b) => b.platforms[0]!.attempts.some((t) => t.attempt === 2 && t.agent === 'stale-b'), 90_000, 'the job to be placed on stale-b');
  assert.equal(moved.platforms[0]!.attempts[0]!.outcome, 'lost');
  // B's own RUN step runs too (other pids, on dockerd 26).
  for (let i = 0; i < 240 && (await processesOf(marker)).every((p) => stale.includes(p)); i++) await sleep(250);
  assert.ok((await processesOf(marker)).some((p) => !stale.includes(p)), "stale-b's RUN step runs");
  assert.ok((await processesOf(marker)).some((p) => stale.includes(p)), 'the frozen agent stopped nothing on its engine by itself: its RUN step is still there');

  process.kill(a.pid!, 'SIGCONT');
  frozen = undefined;
  const resumedAt = Date.now();
  while ((await processesOf(marker)).some((p) => stale.includes(p)) && Date.now() - resumedAt < 10_000) await sleep(200);
  const left = (await processesOf(marker)).filter((p) => stale.includes(p));
  assert.deepEqual(left, [], `within 10 s of SIGCONT the stale RUN step is gone from the host\n${coordinatorTail(fleet)}`);
  const agentLog = () => fleet!.logs.filter((l) => l.startsWith('[stale-a] ')).join('');
  for (let i = 0; i < 50 && !agentLog().includes('dropping the attempt'); i++) await sleep(100);
  assert.match(agentLog(), /"msg":"dropping the attempt"/, `the agent says it dropped the attempt\n${agentLog().slice(-3000)}`);

  // Its slot takes a new job: a build only stale-a may run.
  const second = await submitDetached(fleet, ['--platform', 'linux/amd64', '--require-label', 'who=stale-a', '-t', `${testRegistry()}/${uniqueRepository('stale-next')}:1`, await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo next-${marker}\n` })]);
  const next = await waitFor(fleet, second, (b) => ['published', 'failed', 'cancelled'].includes(b.state), 120_000, 'the next build on stale-a');
  assert.equal(next.state, 'published', JSON.stringify(next.error));
  assert.deepEqual(next.platforms[0]!.attempts.map((t) => [t.agent, t.outcome]), [['stale-a', 'succeeded']]);

  // The new attempt's log (as the coordinator stored it) holds no line of the stale attempt.
  const jobId = `${id}-0`;
  const newLogFile = join(fleet.dataDir, 'logs', id, `${jobId}.2.log`);
  const newLogOf = () => readFile(newLogFile, 'utf8').catch(() => '');
  for (let i = 0; i < 120 && !(await newLogOf()).includes(`${marker}-line-5-`); i++) await sleep(250);
  // The RUN's output lines, not the step's name line (which quotes the command).
  const outputLine = new RegExp(`${marker}-line-\\d+-[0-9a-f-]{36}`, 'g');
  const staleLines = (await readFile(join(fleet.agentStateDir('stale-a'), 'logs', `${jobId}.1.log`), 'utf8')).match(outputLine) ?? [];
  const newLog = await newLogOf();
  assert.ok(staleLines.length >= 3, `the stale attempt spooled its output (${staleLines.length} lines)`);
  assert.ok((newLog.match(outputLine) ?? []).length >= 5, "the new attempt's log has its own lines");
  const leaked = staleLines.filter((l) => newLog.includes(l));
  assert.deepEqual(leaked, [], 'no stale line in the new attempt');
  const res = await fleet.cli(['cancel', id]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal((await inspect(fleet, id)).state, 'cancelled');
});
