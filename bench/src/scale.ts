import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Platform, RegistryClient } from '@archfarm/common';
import { buildStateToJSON, SubmitBuildRequest, type BuildEvent } from '@archfarm/proto';
import { pushTinyImage, testRegistry } from '@archfarm/test';
import { startCoordinator } from './lib/coordinator-process';
import { Knobs } from './lib/knobs';
import { runMain, say, sleep } from './lib/main';
import { operatorClient, packContext, uploadContext, type BuildCalls } from './lib/operator';
import { ProcessSampler, rssBytes } from './lib/proc';
import { publishResult } from './lib/results';
import { ratePerSecond, summarize } from './lib/stats';
import { formatMiB, formatMs, formatNumber } from './lib/table';
import { ScaleRecorder } from './sim/recorder';
import type { PushedImage } from './sim/sim-agent';
import { benchPki, type BenchPki } from './sim/certs';
import { SIM_PLATFORMS, SimFleet } from './sim/sim-fleet';

interface ScaleSettings {
  agents: number;
  jobs: number;
  buildMs: number;
  heartbeatMs: number;
  /** Builds (of 4 jobs) in flight at once. */
  window: number;
  /** No new build is submitted after this long in the job phase: a safety net that keeps `make bench` inside its budget on a slow machine. */
  maxJobPhaseMs: number;
}

/** Everything one run measured. */
interface ScaleRun extends ScaleSettings {
  /** Jobs that were assigned and finished (fewer than `jobs` only if the time cap ended the phase). */
  jobsDone: number;
  connectMs: number;
  steadyMs: number;
  placementsPerSecond: number;
  queuedToAssigned: ReturnType<typeof summarize>;
  /** SubmitBuild round trips (the build is queued inside). */
  submit: ReturnType<typeof summarize>;
  retries: number;
  heartbeatsPerSecond: number;
  maxHeartbeatAgeMs: number;
  idleRss: number;
  peakRss: number;
  coordinatorCores: number;
  simulatorCores: number;
  /** How every submitted build ended, as its WatchBuild stream's last event said. */
  published: { checked: number; published: number; other: Record<string, number> };
  /** SubmitBuild sent -> the build's index published, ms. */
  submitToPublished: ReturnType<typeof summarize>;
  /** From the end of the job phase to the last build's end. */
  publishDrainMs: number;
  placementsSeries: number[];
  rssSeries: Array<{ t: number; rssMiB: number; cores: number }>;
}

const NAME = 'scale';
/** How long the bench waits after the job phase for builds still publishing. */
const PUBLISH_WAIT_MS = 240_000;

async function main(): Promise<void> {
  const knobs = new Knobs();
  const agentCounts = knobs.ints('SCALE_AGENTS', [1000, 5000], [200, 1000]);
  const jobs = knobs.int('SCALE_JOBS', 20_000, 2000);
  const buildMs = knobs.int('SCALE_BUILD_MS', 1000, 1000);
  const heartbeatMs = knobs.int('SCALE_HEARTBEAT_MS', 5000, 5000);
  const window = knobs.int('SCALE_BUILDS_IN_FLIGHT', 100, 25);
  const maxJobPhaseMs = knobs.int('SCALE_MAX_JOB_PHASE_S', 360, 60) * 1000;
  const startedAt = new Date();
  const t0 = Date.now();
  const pki = await benchPki(Math.max(...agentCounts), (n) => say(NAME, `${n} agent certificates issued`));
  const pkiMs = Date.now() - t0;
  const runs: ScaleRun[] = [];
  for (const agents of agentCounts) {
    runs.push(await scaleRun(pki, { agents, jobs, buildMs, heartbeatMs, window, maxJobPhaseMs }));
  }
  await publishResult({
    name: NAME,
    title: 'Scale: one coordinator, simulated agents (real gRPC + mTLS + agent protocol; build = timed sleep)',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    settings: knobs.settings(),
    reduced: knobs.reduced,
    table: {
      columns: ['agents (simulated)', 'jobs done', 'builds published', 'submit→published p50', 'placements/s', 'queued→assigned p50', 'p99', 'heartbeats/s', 'oldest heartbeat', 'coord. RSS idle', 'coord. RSS peak', 'coord. CPU', 'sim. CPU', 'connect all'],
      rows: runs.map((r) => [
        String(r.agents),
        r.jobsDone < r.jobs ? `${r.jobsDone} of ${r.jobs} (time cap)` : String(r.jobsDone),
        `${r.published.published} of ${r.published.checked}`,
        formatMs(r.submitToPublished.p50),
        formatNumber(r.placementsPerSecond),
        formatMs(r.queuedToAssigned.p50),
        formatMs(r.queuedToAssigned.p99),
        formatNumber(r.heartbeatsPerSecond),
        formatMs(r.maxHeartbeatAgeMs),
        formatMiB(r.idleRss),
        formatMiB(r.peakRss),
        `${formatNumber(r.coordinatorCores)} cores`,
        `${formatNumber(r.simulatorCores)} cores`,
        formatMs(r.connectMs),
      ]),
    },
    notes: [
      'SIMULATED agents: each is its own gRPC connection (mutual TLS) with its own client certificate from the CA the coordinator was given (--tls-cert/--tls-key/--client-ca; certificates made with the calls Enrol makes, in bulk, cached between runs), speaking the real agent protocol: Hello, heartbeats at the Welcome\'s interval, Accepted, Started, Finished. Only the build is replaced by a timed sleep.',
      `Agent i is native for ${SIM_PLATFORMS.join(', ')}[i mod 4], one slot. Builds have those 4 platforms; a build's 4 jobs finish after the sleep of ${buildMs} ms each.`,
      'Completion is real: each simulated agent reports the digest of a tiny image pushed once per platform to the loopback registry, so the coordinator checks every job\'s image (its manifest and config: 2 registry requests) and pushes every build\'s index (1 more: 9 per build). Publishing runs behind placement, at the registry\'s pace; the bench follows every build with WatchBuild and, after the job phase, waits for the last one: "builds published" and submit→published count them all.',
      `Load is closed-loop and the same for every fleet size: ${window} builds (${window * SIM_PLATFORMS.length} jobs) in flight, a new build submitted as soon as one\'s jobs have finished, so free agents are never short and what grows is the fleet the coordinator heartbeats with and places over. Placements/s is the coordinator\'s assignment rate under that load. Once the coordinator is the bottleneck, queued→assigned follows from it (Little\'s law: jobs in flight / placements per second).`,
      'queued→assigned: from sending SubmitBuild (the build is queued inside that call) to the Assign arriving at the agent, first attempts only, on one clock. Heartbeats/s: sent by all agents during the job phase; "oldest heartbeat" is the largest now − lastSeen the coordinator reported (ListAgents) at the end, so the coordinator had handled every agent\'s heartbeat up to that age.',
      'Coordinator RSS idle: after all agents connected, before jobs; peak and CPU (cores busy, averaged) over the job phase, from /proc. The simulator (this bench process) shares the same 2 cores: its CPU is shown too.',
      `The coordinator is the real binary with its defaults (SQLite store in a data dir under ${tmpdir()}, synchronous=FULL: a state change is reported only once on disk; the changes of one event-loop turn share a commit and its fsync) except --max-pending-builds 1000000 (heartbeat interval ${heartbeatMs} ms, the default is 5000); log level info.`,
      `Agent certificates ready in ${formatMs(pkiMs)} (0 when cached). No new build is submitted after ${maxJobPhaseMs / 1000} s of job phase; "jobs done" says when that cap cut a run short.`,
      ...runs.map((r) => `${r.agents} agents: all connected in ${formatMs(r.connectMs)}, job phase ${formatMs(r.steadyMs)}, ${r.window} builds in flight, ${r.retries} retried attempts, builds ended ${JSON.stringify({ published: r.published.published, ...r.published.other })}, the last ${formatMs(r.publishDrainMs)} after the job phase; submit→published p99 ${formatMs(r.submitToPublished.p99)}.`),
    ],
    data: { runs },
  });
}

async function scaleRun(pki: BenchPki, settings: ScaleSettings): Promise<ScaleRun> {
  const { agents, jobs, buildMs, heartbeatMs, window } = settings;
  say(NAME, `${agents} simulated agents, ${jobs} jobs, ${window} builds in flight`);
  const work = await mkdtemp(join(tmpdir(), 'archfarm-bench-scale-'));
  const tls = ['--tls-cert', pki.certFile, '--tls-key', pki.keyFile, '--client-ca', pki.caFile];
  const coordinator = await startCoordinator(['--data-dir', join(work, 'data'), ...tls, '--heartbeat-interval', `${heartbeatMs}ms`, '--max-pending-builds', '1000000']);
  const recorder = new ScaleRecorder();
  let sims: SimFleet | undefined;
  try {
    const pid = coordinator.pid;
    const registry = testRegistry();
    const repository = `bench/scale-${randomBytes(4).toString('hex')}`;
    const images = await pushImages(registry, repository);
    sims = await SimFleet.start({ address: coordinator.address, caPem: pki.caPem, identities: pki.identities.slice(0, agents), buildMs, image: (p) => images.get(p)!, events: recorder, onProgress: (n, ms) => say(NAME, `${n} agents connected (${formatMs(ms)})`) });
    say(NAME, `${agents} agents connected in ${formatMs(sims.connectMs)}`);
    await sleep(Math.max(2000, heartbeatMs));
    const idleRss = rssBytes(pid);
    const client = operatorClient(coordinator.address, pki.caPem, coordinator.adminToken);
    await mkdir(join(work, 'context'));
    await writeFile(join(work, 'context', 'Dockerfile'), 'FROM scratch\n');
    const context = await packContext(join(work, 'context'), join(work, 'context.tar'));
    await uploadContext(client, context);

    const coordSampler = new ProcessSampler(pid, 500);
    const simulator = new ProcessSampler(process.pid, 500);
    const beatsBefore = recorder.heartbeats;
    const steadyStart = Date.now();
    const deadline = steadyStart + settings.maxJobPhaseMs;
    const endings = await submitAll(client, recorder, { registry, repository, digest: context.digest, builds: Math.ceil(jobs / SIM_PLATFORMS.length), window, deadline });
    const steadyMs = Date.now() - steadyStart;
    const beats = recorder.heartbeats - beatsBefore;
    const maxHeartbeatAgeMs = await oldestHeartbeat(client);
    const coord = coordSampler.stop();
    const sim = simulator.stop();
    say(NAME, `job phase ${formatMs(steadyMs)}; waiting for the builds still publishing`);
    const drainStart = Date.now();
    await Promise.race([Promise.all(endings), sleep(PUBLISH_WAIT_MS)]);
    const publishDrainMs = Date.now() - drainStart;
    const published = recorder.outcomes(endings.length);
    const open = endings.length - published.published - Object.values(published.other).reduce((a, b) => a + b, 0);
    if (open > 0) published.other[`still publishing after ${PUBLISH_WAIT_MS / 1000} s`] = open;
    const firstAssigns = recorder.assigns.filter((a) => a.attempt === 1).map((a) => a.at);
    client.close();
    return {
      ...settings,
      jobsDone: recorder.assigns.filter((a) => a.attempt === 1).length,
      connectMs: sims.connectMs,
      steadyMs,
      placementsPerSecond: ratePerSecond(firstAssigns),
      queuedToAssigned: summarize(recorder.queuedToAssigned()),
      submit: summarize(recorder.submitMs),
      submitToPublished: summarize(recorder.publishedMs),
      publishDrainMs,
      retries: recorder.assigns.filter((a) => a.attempt > 1).length,
      heartbeatsPerSecond: (beats * 1000) / steadyMs,
      maxHeartbeatAgeMs,
      idleRss,
      peakRss: coord.peakRss,
      coordinatorCores: coord.cores,
      simulatorCores: sim.cores,
      published,
      placementsSeries: recorder.perSecond(steadyStart),
      rssSeries: coordSampler.series.map((s, i, all) => ({
        t: s.t / 1000,
        rssMiB: s.rss / 1024 / 1024,
        cores: i === 0 ? 0 : (s.cpuMs - all[i - 1]!.cpuMs) / Math.max(1, s.t - all[i - 1]!.t),
      })),
    };
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\ncoordinator log tail:\n${coordinator.tail()}`, { cause: err });
  } finally {
    sims?.stop();
    await coordinator.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** One tiny real image per platform, pushed by digest; every simulated job reports its platform's. */
async function pushImages(registry: string, repository: string): Promise<Map<string, PushedImage>> {
  const client = new RegistryClient(registry, { userAgent: 'archfarm-bench' });
  const images = new Map<string, PushedImage>();
  for (const text of SIM_PLATFORMS) {
    const p = Platform.parse(text);
    const platform = { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
    const d = await pushTinyImage(client, repository, platform, `bench-scale ${text}`);
    images.set(text, { digest: d.digest, mediaType: d.mediaType, size: d.size });
  }
  return images;
}

/**
 * Keeps `window` builds in flight until `builds` have been submitted and their jobs have
 * finished. Returns, per build, a promise of its end (published, or not) as its WatchBuild
 * stream tells it: publishing (checks and index push, at the registry's pace) runs behind.
 */
async function submitAll(
  client: BuildCalls,
  recorder: ScaleRecorder,
  o: { registry: string; repository: string; digest: string; builds: number; window: number; deadline: number },
): Promise<Array<Promise<void>>> {
  const endings: Array<Promise<void>> = [];
  let next = 0;
  const lane = async () => {
    while (next < o.builds && Date.now() < o.deadline) {
      const i = next++;
      const sent = Date.now();
      const request = SubmitBuildRequest.fromPartial({ platforms: SIM_PLATFORMS, tag: `${o.registry}/${o.repository}:b${i}`, contextDigest: o.digest, dockerfile: 'Dockerfile', emulation: 'prefer-native' });
      const { buildId } = await client.submitBuild(request);
      recorder.sentAt.set(buildId, sent);
      recorder.submitMs.push(Date.now() - sent);
      endings.push(ending(client, buildId).then((state) => recorder.ended(state, Date.now() - sent)));
      await recorder.allFinished(buildId, SIM_PLATFORMS.length);
    }
  };
  await Promise.all(Array.from({ length: o.window }, lane));
  return endings;
}

/** The largest now − lastSeen over connected agents, as the coordinator reports it. */
async function oldestHeartbeat(client: BuildCalls): Promise<number> {
  const { agents } = await client.listAgents({ all: false });
  const now = Date.now();
  return Math.max(0, ...agents.map((a) => now - a.lastSeenMs));
}

/** How the build ended ("published", "failed", ...), from its WatchBuild stream's last event. */
function ending(client: BuildCalls, buildId: string): Promise<string> {
  return new Promise((resolve) => {
    let state = 'stream ended without an outcome';
    const stream = client.watchBuild({ buildId, resume: false, logs: [] });
    stream.on('data', (e: BuildEvent) => {
      if (e.event?.$case === 'finished') state = buildStateToJSON(e.event.value.state).replace('BUILD_STATE_', '').toLowerCase();
    });
    stream.on('error', (err: Error) => resolve(`watch failed: ${err.message}`));
    stream.on('end', () => resolve(state));
  });
}

runMain(NAME, main);
