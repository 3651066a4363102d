import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  BuildState,
  JobState,
  type Assign,
  type BuildEvent,
  type BuildServiceClient,
  type JobLog,
  type LogAck,
  type LogPosition,
  type SubmitBuildResponse,
} from '@archfarm/proto';
import type { Coordinator } from '../coordinator';
import { call, capturingLogger, ScriptedAgent, startCoordinator, submitRequest, uploadDockerfile } from '../testing/in-process';

/*
 * WatchBuild and StreamLogs re-attaching (resume from log positions) against a coordinator
 * in this process on a real gRPC port, with a scripted agent uploading real log chunks.
 */

const PLATFORM = 'linux/arm64';

interface Farm {
  coordinator: Coordinator;
  builds: BuildServiceClient;
  agent: ScriptedAgent;
  /** Uploads `text` as the next chunk of the attempt's log. */
  log(assign: Assign, text: string): Promise<void>;
  stop(): Promise<void>;
}

async function startFarm(dataDir: string): Promise<Farm> {
  const { coordinator, builds } = await startCoordinator(dataDir, capturingLogger([]), { heartbeatIntervalMs: 500, leaseTtlMs: 60_000 });
  const agent = new ScriptedAgent(coordinator.port, 'pi-1', [PLATFORM]);
  const agents = new AgentServiceClient(`127.0.0.1:${coordinator.port}`, credentials.createInsecure());
  const sent = new Map<string, number>();
  const log = (assign: Assign, text: string) =>
    new Promise<void>((resolve, reject) => {
      const key = `${assign.jobId}.${assign.attempt}`;
      const offset = sent.get(key) ?? 0;
      sent.set(key, offset + Buffer.byteLength(text));
      const stream = agents.uploadLog((err: Error | null, _ack?: LogAck) => (err ? reject(err) : resolve()));
      stream.write({ jobId: assign.jobId, attempt: assign.attempt, offset, data: Buffer.from(text) });
      stream.end();
    });
  const stop = async () => {
    agent.close();
    agents.close();
    builds.close();
    await coordinator.stop(100);
  };
  return { coordinator, builds, agent, log, stop };
}

async function submitAndStart(farm: Farm): Promise<Assign> {
  const context = await uploadDockerfile(farm.builds, 'FROM scratch\n');
  await call<ReturnType<typeof submitRequest>, SubmitBuildResponse>(farm.builds.submitBuild.bind(farm.builds), submitRequest(context, { tag: '127.0.0.1:5999/app:1', platforms: [PLATFORM] }));
  const [assign] = await farm.agent.assigned(1);
  farm.agent.send({ $case: 'started', value: { jobId: assign!.jobId, attempt: assign!.attempt } });
  return assign!;
}

/** Collects a stream's messages; `until` resolves once `test` holds for what came so far. */
function collect<T>(stream: ClientReadableStream<T>) {
  const got: T[] = [];
  let ended = false;
  stream.on('data', (m: T) => got.push(m));
  stream.on('end', () => (ended = true));
  stream.on('error', () => (ended = true));
  const until = async (what: string, test: (got: T[]) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!test(got)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { got, until, ended: () => ended };
}

const logsOf = (events: BuildEvent[]): JobLog[] => events.flatMap((e) => (e.event?.$case === 'log' ? [e.event.value] : []));
const text = (logs: JobLog[]) => Buffer.concat(logs.map((l) => l.data)).toString();
const bytes = (logs: JobLog[]) => logs.reduce((n, l) => n + l.data.length, 0);

/** Each chunk starts where the one before ended: no byte twice, none missing. */
function assertContiguous(logs: JobLog[], from: number): void {
  let at = from;
  for (const l of logs) {
    assert.equal(l.offset, at, `chunk at ${l.offset}, expected ${at}`);
    at += l.data.length;
  }
}

const failJob = (farm: Farm, a: Assign) =>
  farm.agent.send({ $case: 'finished', value: { jobId: a.jobId, attempt: a.attempt, digest: '', mediaType: '', size: 0, error: { code: 'RUN_FAILED', message: 'RUN exited 1', kind: 'build' }, bases: [] } });

test('a re-attach gets the job state and the log bytes past its offset from the files, then follows; each byte once', async () => {
  const farm = await startFarm(mkdtempSync(join(tmpdir(), 'archfarm-watch-')));
  try {
    const assign = await submitAndStart(farm);
    const buildId = assign.spec!.buildId;
    await farm.log(assign, 'line 1\nline 2\nhal');
    const first = collect(farm.builds.watchBuild({ buildId, resume: false, logs: [] }));
    await first.until('the first 17 bytes', (got) => bytes(logsOf(got)) === 17);
    assertContiguous(logsOf(first.got), 0);
    first.got.length = 0;
    // The client printed 10 bytes, then lost the stream; more is logged meanwhile.
    await farm.log(assign, 'f line\nline 3\n');
    const held: LogPosition[] = [{ platform: PLATFORM, attempt: assign.attempt, offset: 10 }];
    const resumed = collect(farm.builds.watchBuild({ buildId, resume: true, logs: held }));
    await resumed.until('the catch-up', (got) => bytes(logsOf(got)) === 31 - 10);
    const head = resumed.got[0]?.event;
    assert.equal(head?.$case, 'job', 'the job state comes first for a job still running');
    assert.equal(head.value.state, JobState.JOB_STATE_RUNNING);
    assertContiguous(logsOf(resumed.got), 10);
    await farm.log(assign, 'line 4\n');
    await resumed.until('the live chunk', (got) => bytes(logsOf(got)) === 38 - 10);
    failJob(farm, assign);
    await resumed.until('finished', (got) => got.some((e) => e.event?.$case === 'finished'));
    const logs = logsOf(resumed.got);
    assertContiguous(logs, 10);
    assert.equal(text(logs), 'line 1\nline 2\nhalf line\nline 3\nline 4\n'.slice(10));
    assert.equal(resumed.got.filter((e) => e.event?.$case === 'job').length, 2, 'running (the catch-up), then failed (live)');
    // logs -f re-attaching: the same positions give the same bytes.
    const streamed = collect(farm.builds.streamLogs({ buildId, platform: '', follow: true, logs: held }));
    await streamed.until('the end of StreamLogs', () => streamed.ended());
    assertContiguous(streamed.got, 10);
    assert.equal(text(streamed.got), text(logs));
  } finally {
    await farm.stop();
  }
});

test('after a restart, a running build is re-attached from its log files, and an ended one from the store', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'archfarm-watch-restart-'));
  let farm = await startFarm(dataDir);
  const assign = await submitAndStart(farm);
  const buildId = assign.spec!.buildId;
  await farm.log(assign, 'before the restart 1\nbefore the restart 2\n');
  await farm.stop();
  farm = await startFarm(dataDir);
  try {
    const held: LogPosition[] = [{ platform: PLATFORM, attempt: assign.attempt, offset: 21 }];
    const resumed = collect(farm.builds.watchBuild({ buildId, resume: true, logs: held }));
    await resumed.until('the catch-up', (got) => bytes(logsOf(got)) === 21);
    assert.equal(text(logsOf(resumed.got)), 'before the restart 2\n');
    assertContiguous(logsOf(resumed.got), 21);
    await call(farm.builds.cancelBuild.bind(farm.builds), { buildId });
    await resumed.until('finished', (got) => got.some((e) => e.event?.$case === 'finished'));
    assert.equal(bytes(logsOf(resumed.got)), 21, 'nothing sent twice');
    const finished = resumed.got.at(-1)?.event;
    assert.equal(finished?.$case === 'finished' && finished.value.state, BuildState.BUILD_STATE_CANCELLED);
    // Restarted again: the build ended, so it is not in memory; the store answers.
    await farm.stop();
    farm = await startFarm(dataDir);
    const stored = collect(farm.builds.watchBuild({ buildId, resume: true, logs: [{ platform: PLATFORM, attempt: assign.attempt, offset: 35 }] }));
    await stored.until('the end', () => stored.ended());
    assert.deepEqual(
      stored.got.map((e) => e.event?.$case),
      ['log', 'job', 'finished'],
    );
    assert.equal(text(logsOf(stored.got)), 'before the restart 1\nbefore the restart 2\n'.slice(35));
    assertContiguous(logsOf(stored.got), 35);
  } finally {
    await farm.stop();
  }
});
