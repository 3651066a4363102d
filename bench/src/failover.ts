import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { formatDuration } from '@archfarm/common';
import { COORDINATOR_DEFAULTS as D } from '@archfarm/coordinator';
import { JobState } from '@archfarm/proto';
import { baseImage, makeContext, submitDetached, testRegistry, TestFleet } from '@archfarm/test';
import { Knobs } from './lib/knobs';
import { runMain, say, sleep } from './lib/main';
import { operatorClient, type BuildCalls } from './lib/operator';
import { publishResult } from './lib/results';
import { median, summarize } from './lib/stats';
import { formatMs } from './lib/table';
import { watchUntil } from './lib/watch';

const NAME = 'failover';
const AGENTS = ['fo-a', 'fo-b'];
/** Long enough to be frozen mid-build and measured. */
const BUILD_SLEEP_S = 60;

async function main(): Promise<void> {
  const knobs = new Knobs();
  const rounds = knobs.int('FAILOVER_ROUNDS', 10, 3);
  const heartbeatMs = knobs.int('FAILOVER_HEARTBEAT_MS', 1000, 1000);
  const leaseMs = knobs.int('FAILOVER_LEASE_MS', 3000, 3000);
  const startedAt = new Date();
  const context = await makeContext({ Dockerfile: `FROM ${baseImage()}\nARG NONCE\nRUN echo "$NONCE" > /nonce && sleep ${BUILD_SLEEP_S}\n` });
  const fleet = await TestFleet.start([], { coordinatorArgs: ['--heartbeat-interval', `${heartbeatMs}ms`, '--lease-ttl', `${leaseMs}ms`] });
  const samples: Array<{ round: number; stopped: string; lastHeartbeatToRunningMs: number; stopToRunningMs: number }> = [];
  const children = new Map<string, ChildProcess>();
  try {
    for (const name of AGENTS) children.set(name, await fleet.addAgent({ name, platforms: 'linux/amd64', slots: 1 }));
    await fleet.waitForAgents(AGENTS);
    const client = operatorClient(fleet.address, readFileSync(fleet.caFile, 'utf8'), fleet.adminToken);
    const repository = `${testRegistry()}/bench/failover-${randomBytes(4).toString('hex')}`;
    for (let round = 1; round <= rounds; round++) {
      const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', `${repository}:r${round}`, '--build-arg', `NONCE=${round}-${randomBytes(4).toString('hex')}`, context]);
      const first = await watchUntil(client, id, (e) => (e.event?.$case === 'job' && e.event.value.state === JobState.JOB_STATE_RUNNING ? e.event.value.agent : undefined), 120_000);
      // Let it build a moment, then freeze its agent: no FIN, no more heartbeats, like a Pi losing power.
      await sleep(1000);
      const victim = children.get(first)!;
      victim.kill('SIGSTOP');
      const stoppedAt = Date.now();
      await sleep(200);
      const { agents } = await client.listAgents({ all: false });
      const lastSeen = agents.find((a) => a.name === first)?.lastSeenMs ?? NaN;
      const runningAt = await watchUntil(
        client,
        id,
        (e) => (e.event?.$case === 'job' && e.event.value.state === JobState.JOB_STATE_RUNNING && e.event.value.agent !== first ? e.timeMs : undefined),
        120_000,
      );
      samples.push({ round, stopped: first, lastHeartbeatToRunningMs: runningAt - lastSeen, stopToRunningMs: runningAt - stoppedAt });
      say(NAME, `round ${round}: ${first} frozen; its job running elsewhere ${formatMs(runningAt - lastSeen)} after its last heartbeat`);
      const cancelled = await fleet.cli(['cancel', id]);
      if (cancelled.code !== 0) throw new Error(`cancel failed: ${cancelled.stderr}`);
      // A resumed agent would keep its stale job's slot (see the notes): start it afresh instead.
      const exited = new Promise((resolve) => victim.once('exit', resolve));
      victim.kill('SIGKILL');
      await exited;
      children.set(first, await fleet.addAgent({ name: first, platforms: 'linux/amd64', slots: 1 }));
      await fleet.waitForAgents(AGENTS);
      await settle(client, AGENTS);
    }
  } finally {
    // A stopped process would never act on the SIGTERM that fleet.stop() sends.
    for (const child of children.values()) child.kill('SIGCONT');
    await fleet.stop();
    await rm(context, { recursive: true, force: true });
  }
  const fromHeartbeat = samples.map((s) => s.lastHeartbeatToRunningMs);
  const s = summarize(fromHeartbeat);
  await publishResult({
    name: NAME,
    title: 'Failover: an agent stops answering; its job runs on another agent',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    settings: knobs.settings(),
    reduced: knobs.reduced,
    table: {
      columns: ['measure', `median of ${samples.length}`, 'min', 'max'],
      rows: [
        ['last heartbeat → job running on another agent', formatMs(s.p50), formatMs(s.min), formatMs(s.max)],
        ['agent frozen → job running on another agent', formatMs(median(samples.map((x) => x.stopToRunningMs))), formatMs(Math.min(...samples.map((x) => x.stopToRunningMs))), formatMs(Math.max(...samples.map((x) => x.stopToRunningMs)))],
      ],
    },
    notes: [
      'Two real agents (linux/amd64, one slot each) on this engine; each round builds a Dockerfile whose RUN sleeps, and once the job runs, the agent holding it is frozen with SIGSTOP (its TCP connection stays open and says nothing, like a machine that lost power or Wi-Fi).',
      'Last heartbeat: the coordinator\'s own lastSeen for that agent (ListAgents, read just after the freeze). Running elsewhere: the coordinator\'s event time (WatchBuild) of the job turning running on the other agent, i.e. after it accepted, fetched the context and started the build. Both on the coordinator\'s clock.',
      `Coordinator flags: --heartbeat-interval ${formatDuration(heartbeatMs)} --lease-ttl ${formatDuration(leaseMs)} (defaults ${formatDuration(D.heartbeatIntervalMs)} and ${formatDuration(D.leaseTtlMs)}); --retry-base-delay at its default ${formatDuration(D.retryBaseDelayMs)}, so a lost job waits 1-2 s of backoff before it is placed again. Expected: lease TTL + up to 0.5 s (the expiry check runs twice a second) + backoff + placement and start. With the default 30 s lease, add about 27 s.`,
      'After each round the build is cancelled, and the frozen agent is killed and started again on its state dir. (Resuming it with SIGCONT is not enough: it does not learn that its job went elsewhere, since heartbeats carry no job ids, and its log upload for the stale attempt is refused and retried without end, so it would hold its slot.)',
    ],
    data: { samples, heartbeatMs, leaseMs },
  });
}

/** Waits until the named agents are connected and hold no job. */
async function settle(client: BuildCalls, names: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { agents } = await client.listAgents({ all: false });
    if (names.every((n) => agents.some((a) => a.name === n && a.running === 0))) return;
    if (Date.now() > deadline) throw new Error(`agents did not settle: ${JSON.stringify(agents.map((a) => [a.name, a.running]))}`);
    await sleep(250);
  }
}

runMain(NAME, main);
