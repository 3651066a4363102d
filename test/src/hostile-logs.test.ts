import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { AgentServiceClient, BuildMode, BuildServiceClient, type Assign, type BuildEvent, type CoordinatorMessage } from '@archfarm/proto';
import { CoordinatorChild } from './support/coordinator-child';
import { BIN, run } from './support/processes';
import { submitRequest, uploadDockerfile } from './support/upload';
import { PROTOCOL_VERSION } from '@archfarm/common';

/*
 * Threat 4 (issue 15): every log chunk stayed in memory for the build's life plus 10 minutes,
 * each new WatchBuild replayed it all at once, and StreamLogs sent a whole file as one message.
 * Now logs live in the files only and each watcher reads them in 256 KiB pieces as it drains.
 * The coordinator is its own process (its RSS is what is measured); a scripted agent over
 * real gRPC uploads 10 MiB per platform (20 MiB in all; the per-job cap is 16 MiB).
 */

const MiB = 1024 * 1024;
const PLATFORMS = ['linux/amd64', 'linux/arm64'];
const WATCHERS = 20;
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

/** Numbered lines, so a lost, doubled or moved piece shows. */
function logOf(platform: string, bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${platform} line ${i} ${randomBytes(24).toString('hex')}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test(`a build printing 20 MiB: ${WATCHERS} watchers cost the coordinator under 64 MiB of RSS, and \`archfarm logs\` prints every byte`, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'archfarm-hostile-logs-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const coordinator = await CoordinatorChild.start(dataDir, ['--insecure']);
  cleanup.push(() => coordinator.stop());
  const pid = coordinator.child.pid!;
  const builds = new BuildServiceClient(coordinator.address, credentials.createInsecure());
  const agents = new AgentServiceClient(coordinator.address, credentials.createInsecure());
  cleanup.push(async () => (builds.close(), agents.close()));

  const assigns: Assign[] = [];
  const stream = agents.connect();
  stream.on('data', (m: CoordinatorMessage) => void (m.msg?.$case === 'assign' && assigns.push(m.msg.value)));
  stream.on('error', () => undefined);
  cleanup.push(async () => stream.cancel());
  const hello = { name: 'loud', version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'none', labels: {}, slots: 2, running: [] };
  stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: PLATFORMS.map((platform) => ({ platform, mode: BuildMode.BUILD_MODE_NATIVE })) } } });

  const digest = await uploadDockerfile(builds, 'FROM scratch\nLABEL loud=1\n');
  const request = submitRequest(digest, { platforms: PLATFORMS, tag: '127.0.0.1:5999/loud:1' });
  const { buildId } = await new Promise<{ buildId: string }>((resolve, reject) => builds.submitBuild(request, (err: ServiceError | null, res) => (err ? reject(err) : resolve(res!))));
  await until('two Assigns', () => assigns.length === 2);
  for (const a of assigns) stream.write({ msg: { $case: 'started', value: { jobId: a.jobId, attempt: a.attempt } } });

  // The watchers, attached before the output: each follows all of it, and reads as it comes.
  let watched = 0;
  let finishedWatchers = 0;
  for (let i = 0; i < WATCHERS; i++) {
    const w = builds.watchBuild({ buildId, resume: false, logs: [] });
    w.on('data', (e: BuildEvent) => {
      if (e.event?.$case === 'log') watched += e.event.value.data.length;
      if (e.event?.$case === 'finished') finishedWatchers++;
    });
    w.on('error', () => undefined);
    cleanup.push(async () => w.cancel());
  }
  await new Promise((r) => setTimeout(r, 500));
  const before = rssBytes(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 25);
  cleanup.push(async () => clearInterval(sampler));

  const logs = new Map(assigns.map((a) => [a.jobId, logOf(a.spec!.platform, 10 * MiB)]));
  await Promise.all(
    assigns.map(
      (a) =>
        new Promise<void>((resolve, reject) => {
          // As the agent's shipper does: 64 KiB chunks, waiting for the stream to drain.
          const up = agents.uploadLog((err) => (err ? reject(err) : resolve()));
          const data = logs.get(a.jobId)!;
          const next = (at: number): void => {
            for (; at < data.length; at += 64 * 1024) {
              if (!up.write({ jobId: a.jobId, attempt: a.attempt, offset: at, data: data.subarray(at, at + 64 * 1024) })) return void up.once('drain', () => next(at + 64 * 1024));
            }
            up.end();
          };
          next(0);
        }),
    ),
  );
  const total = [...logs.values()].reduce((n, b) => n + b.length, 0);
  await until('every watcher has every byte', () => watched === total * WATCHERS, 120_000);
  for (const a of assigns) stream.write({ msg: { $case: 'finished', value: { jobId: a.jobId, attempt: a.attempt, digest: '', mediaType: '', size: 0, error: { code: 'RUN_FAILED', message: 'RUN exited 1', kind: 'build' }, bases: [] } } });
  await until('the watchers end', () => finishedWatchers === WATCHERS);
  clearInterval(sampler);
  const grew = peak - before;
  process.stderr.write(`coordinator RSS: ${(before / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB\n`);
  assert.ok(grew < 64 * MiB, `the coordinator's RSS grew by ${(grew / MiB).toFixed(1)} MiB while ${WATCHERS} clients watched 20 MiB of log`);

  const env = { ...process.env, ARCHFARM_COORDINATOR: coordinator.address, ARCHFARM_CONFIG: join(dataDir, 'cli-config.json') };
  for (const a of assigns) {
    const platform = a.spec!.platform;
    const res = await run(process.execPath, [BIN.cli, '--insecure', 'logs', buildId, '--platform', platform], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout === logs.get(a.jobId)!.toString(), `archfarm logs --platform ${platform} prints its 10 MiB byte for byte (got ${res.stdout.length} bytes)`);
  }
});
