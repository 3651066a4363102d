/**
 * How long the agent's event loop stalls while it does a job's own work: a push of a big
 * layer (plain gzip, and with SOURCE_DATE_EPOCH: pako and the tar timestamp rewriter) and a
 * burst of log lines through the log shipper. Every heartbeat, Cancel and lease renewal waits
 * behind such a stall, so the longest one is the figure that matters. Not part of `make bench`;
 * run it by hand, natively or under QEMU user mode to see a slow CPU:
 *
 *     node bench/dist/agent-loop-lag.js
 *     $(bash scripts/foreign-node.sh s390x) bench/dist/agent-loop-lag.js
 *
 * Knobs: BENCH_LAG_LAYER_MIB (default 128), BENCH_LAG_LOG_LINES (default 100000),
 * BENCH_LAG_ONLY (a comma list of gzip, epoch, log; default all three), BENCH_LAG_ROUNDS
 * (default 3: each figure is the median of the rounds). One small push and burst run first,
 * unmeasured: Node.js loads undici and web streams lazily on the first fetch (300 ms under
 * QEMU), which a running agent pays once, not per job. The push
 * goes to ARCHFARM_REGISTRY_ADDR (default 127.0.0.1:5000, `make setup`'s loopback registry).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { c as createTar } from 'tar';
import { credentials, Server, ServerCredentials, type sendUnaryData, type ServerReadableStream } from '@grpc/grpc-js';
import { createLogger, RegistryClient, sha256Digest } from '@archfarm/common';
import { AgentServiceClient, AgentServiceService, createClient, type LogAck, type LogChunk } from '@archfarm/proto';
import { LogShipper, pushSavedImage } from '@archfarm/agent';
import { Knobs } from './lib/knobs';
import { BENCH_CLIENT } from './lib/operator';
import { runMain, say } from './lib/main';
import { formatMs, renderText } from './lib/table';

const NAME = 'agent-loop-lag';

interface Lag {
  scenario: string;
  tookMs: number;
  /** Longest stall of the event loop (monitorEventLoopDelay, 10 ms resolution). */
  maxMs: number;
  p99Ms: number;
  /** The most a 1 s interval (the agent's heartbeat and watchdog timers) came late. */
  timerLateMs: number;
}

async function main(): Promise<void> {
  const knobs = new Knobs();
  const mib = knobs.int('LAG_LAYER_MIB', 128, 32);
  const lines = knobs.int('LAG_LOG_LINES', 100_000, 20_000);
  const rounds = knobs.int('LAG_ROUNDS', 3, 1);
  const registry = process.env.ARCHFARM_REGISTRY_ADDR ?? '127.0.0.1:5000';
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-bench-lag-'));
  const results: Lag[] = [];
  try {
    say(NAME, `making a saved image with one ${mib} MiB layer (node ${process.version} on ${process.arch})`);
    const archive = await savedImage(join(dir, 'big'), mib);
    const client = new RegistryClient(registry, { insecure: true });
    const push = (saved: string, epoch: number | undefined) => async () => {
      const repository = `bench/loop-lag-${randomBytes(4).toString('hex')}`;
      await pushSavedImage(createReadStream(saved), { client, repository, workDir: join(dir, 'work'), epoch });
    };
    const warm = await savedImage(join(dir, 'warm'), 1);
    await push(warm, undefined)();
    await push(warm, 1_700_000_000)();
    await logBurst(dir, 1000);
    const only = (process.env.BENCH_LAG_ONLY ?? 'gzip,epoch,log').split(',');
    const scenarios: Array<[string, string, () => Promise<void>]> = [
      ['gzip', 'push, gzip (node:zlib)', push(archive, undefined)],
      ['epoch', 'push, SOURCE_DATE_EPOCH (pako, timestamp rewrite)', push(archive, 1_700_000_000)],
      ['log', `log shipper: ${lines} lines in one burst`, () => logBurst(dir, lines)],
    ];
    for (const [key, scenario, work] of scenarios) {
      if (!only.includes(key)) continue;
      const runs: Lag[] = [];
      for (let i = 0; i < rounds; i++) runs.push(await measure(`${scenario} (round ${i + 1}/${rounds})`, scenario, work));
      results.push(medianOf(scenario, runs));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const ms = (v: number) => formatMs(v);
  process.stdout.write(
    `${renderText({
      columns: ['scenario', 'took', 'longest stall', 'p99 stall', '1 s timer late by'].map((c, i) => (i > 0 && rounds > 1 ? `${c} (median of ${rounds})` : c)),
      rows: results.map((r) => [r.scenario, ms(r.tookMs), ms(r.maxMs), ms(r.p99Ms), ms(r.timerLateMs)]),
    })}\n`,
  );
}

/** Each figure's median over the rounds. */
function medianOf(scenario: string, runs: Lag[]): Lag {
  const median = (pick: (l: Lag) => number) => {
    const sorted = runs.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return { scenario, tookMs: median((l) => l.tookMs), maxMs: median((l) => l.maxMs), p99Ms: median((l) => l.p99Ms), timerLateMs: median((l) => l.timerLateMs) };
}

/** Runs `work` while watching the event loop. */
async function measure(what: string, scenario: string, work: () => Promise<void>): Promise<Lag> {
  say(NAME, what);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  let last = performance.now();
  let timerLateMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    timerLateMs = Math.max(timerLateMs, now - last - 1000);
    last = now;
  }, 1000);
  histogram.enable();
  const start = performance.now();
  try {
    await work();
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
  const tookMs = performance.now() - start;
  // The histogram counts from the resolution up: subtract it to get the stall itself.
  const stall = (ns: number) => Math.max(0, ns / 1e6 - 10);
  return { scenario, tookMs, maxMs: stall(histogram.max), p99Ms: stall(histogram.percentile(99)), timerLateMs: Math.max(0, timerLateMs) };
}

/**
 * A `docker save` archive (Docker 20.10's layout) of one layer of `mib` MiB: files of
 * base64 text, compressible about as well as binaries are, dated now so an epoch clamps them.
 */
async function savedImage(dir: string, mib: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const root = join(dir, 'rootfs');
  await mkdir(join(root, 'data'), { recursive: true });
  for (let i = 0; i < mib; i++) await writeFile(join(root, 'data', `f${i}`), randomBytes(768 * 1024).toString('base64'));
  const image = join(dir, 'image');
  await mkdir(join(image, 'layer'), { recursive: true });
  const layer = join(image, 'layer', 'layer.tar');
  await createTar({ file: layer, cwd: root, portable: true }, ['data']);
  const diffId = await fileDigest(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: {} }));
  const configName = `${sha256Digest(config).slice('sha256:'.length)}.json`;
  await writeFile(join(image, configName), config);
  await writeFile(join(image, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [], Layers: ['layer/layer.tar'] }]));
  const archive = join(dir, 'saved.tar');
  await createTar({ file: archive, cwd: image, portable: true }, ['manifest.json', configName, 'layer']);
  await rm(root, { recursive: true, force: true });
  await rm(image, { recursive: true, force: true });
  return archive;
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** `lines` lines of BuildKit-sized progress through a LogShipper to a gRPC server that keeps them. */
async function logBurst(dir: string, lines: number): Promise<void> {
  let kept = 0;
  const server = new Server();
  server.addService(AgentServiceService, {
    connect: () => {},
    fetchContext: () => {},
    uploadLog: (call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>) => {
      call.on('data', (chunk: LogChunk) => {
        if (chunk.offset <= kept) kept = Math.max(kept, chunk.offset + chunk.data.length);
      });
      call.on('end', () => callback(null, { committed: kept }));
    },
    logOffset: (_call: unknown, callback: sendUnaryData<LogAck>) => callback(null, { committed: kept }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = createClient(AgentServiceClient, `127.0.0.1:${port}`, credentials.createInsecure(), {}, BENCH_CLIENT);
  try {
    const shipper = new LogShipper(() => client, 'bench', 1, join(dir, `bench-${randomBytes(4).toString('hex')}.log`), createLogger('bench', 'silent'));
    // As the engine delivers them: a few hundred lines per chunk of the build stream.
    for (let i = 0; i < lines; i += 500) {
      for (let j = i; j < Math.min(lines, i + 500); j++) shipper.line(`#${(j % 40) + 5} 12.34 output line ${j} of a RUN step that compiles something and says so at length`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await shipper.close(new AbortController().signal);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

runMain(NAME, main);
