/**
 * Issue 17, end to end with the real engine and the loopback registry: the coordinator's and
 * the agent's /metrics (--http-listen) parse as Prometheus text exposition, and after a known
 * sequence of builds every counter equals what the test did:
 *   1. a success on two platforms (linux/amd64 native, linux/arm64 emulated by QEMU),
 *   2. a failure (a RUN step that exits 1: a build error, never retried),
 *   3. a retry: the agent is killed (-9) mid-job; its lease runs out (one lease expiry), the
 *      job is queued again (one retry) and the restarted agent builds it to publication.
 *
 * /readyz: whether a probe from process start catches the 503 before the store opens depends
 * on timing (the store opens in milliseconds), so this test asserts what timing cannot change:
 * no 200 before the gRPC port serves, and 200 from then on. The 503-before-the-store answer is
 * shown deterministically in coordinator/src/metrics/readiness.test.ts, which holds the store's
 * opening back in-process.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, waitFor } from './support/builds';
import { coordinatorTail, logsContain, submit } from './support/lifecycle';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort, ROOT, run } from './support/processes';
import { Scrape } from './support/prometheus';
import { testRegistry, uniqueRepository } from './support/registry';

let fleet: TestFleet | undefined;
after(async () => {
  await fleet?.stop();
});

// js-yaml is hoisted into the root node_modules (an eslint dependency) and ships no types (as in deploy.test.ts).
const yaml = createRequire(__filename)('js-yaml') as { load(text: string): unknown };

/** deploy/compose.yaml's healthcheck of `service` as node arguments, aimed at `port` instead of the file's. */
function composeHealthcheck(service: 'coordinator' | 'agent', port: number): string[] {
  const compose = yaml.load(readFileSync(join(ROOT, 'deploy', 'compose.yaml'), 'utf8')) as { services: Record<string, { healthcheck?: { test?: string[] } }> };
  const check = compose.services[service]?.healthcheck?.test ?? [];
  assert.deepEqual(check.slice(0, 3), ['CMD', 'node', '-e'], `compose.yaml: the ${service} healthcheck runs node -e (the image has no curl)`);
  const script = check[3] ?? '';
  assert.match(script, /127\.0\.0\.1:742[12]\/readyz/, `compose.yaml: the ${service} healthcheck asks /readyz on its --http-listen`);
  return ['-e', script.replace(/127\.0\.0\.1:742[12]/, `127.0.0.1:${port}`)];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const AGENT = 'metrics-a';

/** GET's status, or 'refused' while nothing listens. */
async function status(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 'refused';
  }
}

/** Polls /readyz from before the process starts until `stop()`: every answer, in order. */
function watchReadiness(url: string): { seen: Array<number | 'refused'>; stop: () => Promise<void> } {
  const seen: Array<number | 'refused'> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await status(url);
      if (seen[seen.length - 1] !== s) seen.push(s);
      await sleep(5);
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

test('/metrics counts what the farm did: builds by outcome, one retry, one lease expiry, job durations by platform and mode; /healthz and /readyz', { timeout: 420_000 }, async (t) => {
  const registry = testRegistry();
  const [coordinatorHttp, agentHttp] = [await freePort(), await freePort()];
  const coordinatorUrl = (path: string) => `http://127.0.0.1:${coordinatorHttp}${path}`;
  const agentUrl = (path: string) => `http://127.0.0.1:${agentHttp}${path}`;

  const readiness = watchReadiness(coordinatorUrl('/readyz'));
  fleet = await TestFleet.start([], { coordinatorArgs: ['--http-listen', `127.0.0.1:${coordinatorHttp}`, '--lease-ttl', '4s', '--retry-base-delay', '500ms'] });
  // "coordinator serving" is logged after the gRPC port is bound and the store open: from here on, ready.
  await readiness.stop();
  const seen = readiness.seen;
  t.diagnostic(`/readyz from process start: ${seen.join(' -> ')}`);
  assert.equal(seen[seen.length - 1], 200, '/readyz is 200 once the coordinator serves');
  assert.deepEqual(seen.slice(0, -1).filter((s) => s !== 'refused' && s !== 503), [], 'before it served, /readyz was refused or 503, never anything else');
  assert.equal(await status(coordinatorUrl('/healthz')), 200);

  const agentArgs = ['--http-listen', `127.0.0.1:${agentHttp}`];
  await fleet.addAgent({ name: AGENT, platforms: 'linux/amd64,linux/arm64', slots: 2 }, agentArgs);
  await fleet.waitForAgents([AGENT]);
  await waitForStatus(agentUrl('/readyz'), 200, 'the agent is ready once connected');
  assert.equal(await status(agentUrl('/healthz')), 200);
  for (const [service, port] of [['coordinator', coordinatorHttp], ['agent', agentHttp]] as const) {
    const healthy = await run(process.execPath, composeHealthcheck(service, port));
    assert.equal(healthy.code, 0, `compose's ${service} healthcheck passes against a ready ${service}: ${healthy.stderr}`);
  }
  const modes = Object.fromEntries((await fleet.waitForAgents([AGENT]))[0]!.platforms.map((p) => [p.platform, p.mode]));
  assert.deepEqual(modes, { 'linux/amd64': 'native', 'linux/arm64': 'emulated' }, 'this host builds amd64 natively and arm64 under QEMU');

  const before = await Scrape.of(coordinatorUrl('/metrics'));
  assert.equal(before.value('archfarm_agents', { state: 'idle', platform: 'linux/amd64', mode: 'native' }), 1);
  assert.equal(before.value('archfarm_agents', { state: 'idle', platform: 'linux/arm64', mode: 'emulated' }), 1);
  assert.equal(before.value('archfarm_slots'), 2);
  assert.deepEqual(before.values('archfarm_builds_total'), {}, 'nothing built yet');

  const repo = `${registry}/${uniqueRepository('metrics')}`;
  // 1. A success on two platforms.
  const good = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo built > /built\n` });
  const ok = await fleet.cli(['build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64', '-t', `${repo}:ok`, good]);
  assert.equal(ok.code, 0, `the good build publishes:\n${ok.stderr}\n${coordinatorTail(fleet)}`);
  // 2. A build error: RUN exits 1.
  const bad = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo failing && exit 1\n` });
  const failed = await fleet.cli(['build', '--progress', 'plain', '--platform', 'linux/amd64', '-t', `${repo}:bad`, bad]);
  assert.notEqual(failed.code, 0, 'the failing build fails');

  const agentScrape = await Scrape.of(agentUrl('/metrics'));
  assert.deepEqual(agentScrape.values('archfarm_agent_jobs_total'), { 'outcome=succeeded': 2, 'outcome=failed': 1 }, 'the agent ended three attempts');
  assert.deepEqual(agentScrape.counts('archfarm_agent_job_duration_seconds'), { 'mode=native,platform=linux/amd64': 1, 'mode=emulated,platform=linux/arm64': 1 });
  assert.equal(agentScrape.value('archfarm_agent_connected'), 1);
  assert.equal(agentScrape.value('archfarm_agent_slots_in_use'), 0);

  // 3. kill -9 the agent mid-job: the lease (4 s) runs out, the job is queued again, and the
  // same agent, restarted only after the expiry (so it is not a reconnect), builds it.
  const marker = `mk${Date.now().toString(36)}`;
  const slow = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${marker}-st''art; sleep 5; echo ${marker}-do''ne\n` });
  const id = await submit(fleet, ['--platform', 'linux/amd64', '-t', `${repo}:retried`, slow]);
  await logsContain(fleet, id, `${marker}-start`);
  const busy = await Scrape.of(coordinatorUrl('/metrics'));
  assert.equal(busy.value('archfarm_slots_in_use'), 1, 'the running job holds a slot');
  assert.equal(busy.value('archfarm_agents', { state: 'busy', platform: 'linux/amd64', mode: 'native' }), 1);
  await fleet.killAgent(AGENT, 'SIGKILL');
  assert.equal((await run(process.execPath, composeHealthcheck('agent', agentHttp))).code, 1, "compose's agent healthcheck fails once the agent is gone");
  await waitUntil(() => fleet!.coordinatorLines('lease expired').length > 0, 30_000, 'the lease to expire');
  const queued = await Scrape.of(coordinatorUrl('/metrics'));
  assert.equal(queued.value('archfarm_queue_depth', { platform: 'linux/amd64' }), 1, 'the job is back in the queue');
  assert.equal(queued.value('archfarm_agents', { state: 'disconnected', platform: 'linux/amd64', mode: 'native' }), 1, 'the killed agent is known, not connected');
  await fleet.addAgent({ name: AGENT, platforms: 'linux/amd64,linux/arm64', slots: 2 }, agentArgs);
  const done = await waitFor(fleet, id, (b) => ['published', 'failed', 'cancelled'].includes(b.state), 180_000, 'the retried build to end');
  assert.equal(done.state, 'published', `the retried build publishes\n${coordinatorTail(fleet)}`);
  assert.deepEqual(done.platforms[0]!.attempts.map((a) => a.outcome), ['lost', 'succeeded'], 'two attempts: the lost one and the retry');

  const after = await Scrape.of(coordinatorUrl('/metrics'));
  assert.deepEqual(after.values('archfarm_builds_total'), { 'outcome=published': 2, 'outcome=failed': 1 });
  assert.equal(after.value('archfarm_job_retries_total'), 1);
  assert.equal(after.value('archfarm_lease_expiries_total'), 1);
  assert.deepEqual(after.counts('archfarm_job_duration_seconds'), { 'mode=native,platform=linux/amd64': 2, 'mode=emulated,platform=linux/arm64': 1 }, 'successful attempts only: the good build (two platforms) and the retry');
  assert.deepEqual(after.counts('archfarm_queue_wait_seconds'), { 'platform=linux/amd64': 4, 'platform=linux/arm64': 1 }, 'one wait per assignment (the retry waited twice)');
  assert.deepEqual(after.counts('archfarm_publish_duration_seconds'), { 'outcome=published': 2 });
  assert.ok(after.count('archfarm_store_commit_duration_seconds') > 0, 'store commits are timed');
  assert.deepEqual(after.values('archfarm_queue_depth'), {}, 'nothing waits');
  assert.equal(after.value('archfarm_slots_in_use'), 0);
  assert.ok(after.value('process_resident_memory_bytes') > 0, 'the default process metrics');
  assert.equal(after.family('archfarm_job_duration_seconds').type, 'HISTOGRAM');
  assert.equal(after.family('archfarm_builds_total').type, 'COUNTER');

  const restarted = await Scrape.of(agentUrl('/metrics'));
  assert.deepEqual(restarted.values('archfarm_agent_jobs_total'), { 'outcome=succeeded': 1 }, 'the restarted agent counts from zero: the retry alone');

  const inspected = await inspect(fleet, id);
  t.diagnostic(`retried build attempts: ${JSON.stringify(inspected.platforms[0]!.attempts.map((a) => [a.attempt, a.outcome]))}`);
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${fleet ? coordinatorTail(fleet) : ''}`);
    await sleep(200);
  }
}

async function waitForStatus(url: string, want: number, what: string): Promise<void> {
  await waitUntil(async () => (await status(url)) === want, 30_000, what);
}
