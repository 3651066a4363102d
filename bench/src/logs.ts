import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, baseImage, makeContext, submitDetached, testRegistry, TestFleet } from '@archfarm/test';
import { Knobs } from './lib/knobs';
import { runMain, say, sleep } from './lib/main';
import { uptimeClock } from './lib/line-clock';
import { publishResult } from './lib/results';
import { summarize } from './lib/stats';
import { formatMs } from './lib/table';

const NAME = 'logs';
const AGENT = 'logs-agent';
const MARK = /LAT-(\d+) (\d+\.\d+)/;

async function main(): Promise<void> {
  const knobs = new Knobs();
  const lines = knobs.int('LOGS_LINES', 200, 50);
  const intervalMs = knobs.int('LOGS_INTERVAL_MS', 50, 50);
  const startedAt = new Date();
  const toUptime = uptimeClock();
  // Each line carries its number and the moment the RUN step wrote it (/proc/uptime, 10 ms steps).
  const script = `sleep 3; i=0; while [ $i -lt ${lines} ]; do i=$((i+1)); echo "LAT-$i $(cut -d' ' -f1 /proc/uptime)"; usleep ${intervalMs * 1000}; done`;
  const context = await makeContext({ Dockerfile: `FROM ${baseImage()}\nARG NONCE\nRUN echo "$NONCE" > /nonce && ${script}\n` });
  const fleet = await TestFleet.start([{ name: AGENT, platforms: 'linux/amd64', slots: 1 }]);
  const container = new Map<number, number>();
  const spooled = new Map<number, number>();
  const printed = new Map<number, number>();
  try {
    const tag = `${testRegistry()}/bench/logs-${randomBytes(4).toString('hex')}:1`;
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', tag, '--build-arg', `NONCE=${randomBytes(4).toString('hex')}`, context]);
    say(NAME, `build ${id}: following with archfarm logs -f while the RUN step prints ${lines} lines`);
    const follower = spawn(process.execPath, [BIN.cli, 'logs', id, '-f'], { env: { ...process.env, ...fleet.cliEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    follower.stdout.on('data', (d: Buffer) => {
      const at = Date.now();
      pending += d.toString();
      const cut = pending.lastIndexOf('\n');
      for (const line of pending.slice(0, cut + 1).split('\n')) {
        const m = MARK.exec(line);
        if (m && !printed.has(Number(m[1]))) {
          printed.set(Number(m[1]), at);
          container.set(Number(m[1]), Number(m[2]));
        }
      }
      pending = pending.slice(cut + 1);
    });
    const spool = join(fleet.agentStateDir(AGENT), 'logs', `${id}-0.1.log`);
    const watching = watchSpool(spool, spooled, () => printed.size >= lines);
    const exited = new Promise<void>((resolve) => follower.once('exit', () => resolve()));
    const deadline = Date.now() + 180_000;
    while (printed.size < lines && Date.now() < deadline && follower.exitCode === null) await sleep(100);
    follower.kill();
    await exited;
    await watching;
  } finally {
    await fleet.stop();
    await rm(context, { recursive: true, force: true });
  }
  const fromContainer = [...printed].map(([n, at]) => (toUptime(at) - container.get(n)!) * 1000);
  const fromAgent = [...printed].flatMap(([n, at]) => (spooled.has(n) ? [at - spooled.get(n)!] : []));
  if (fromAgent.length === 0) throw new Error(`no line was seen both in the agent's spool and on the CLI (printed ${printed.size}, spooled ${spooled.size})`);
  const a = summarize(fromAgent);
  const c = summarize(fromContainer);
  await publishResult({
    name: NAME,
    title: 'Log latency: a line of build output to `archfarm logs -f` printing it',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    settings: knobs.settings(),
    reduced: knobs.reduced,
    table: {
      columns: ['from', 'to', 'lines', 'p50', 'p99', 'max'],
      rows: [
        ['the agent writes the line (its log spool)', 'archfarm logs -f prints it', String(a.n), formatMs(a.p50), formatMs(a.p99), formatMs(a.max)],
        ['the RUN step prints it (in the container)', 'archfarm logs -f prints it', String(c.n), formatMs(c.p50), formatMs(c.p99), formatMs(c.max)],
      ],
    },
    notes: [
      `One real agent and coordinator; a RUN step prints ${lines} numbered lines, one every ${intervalMs} ms, each with /proc/uptime at the moment it is written. \`archfarm logs ID -f\` (the CLI process) follows the build; the bench timestamps each line as it reads the CLI's stdout.`,
      'Agent side: every line the agent takes from BuildKit goes first to its log spool file (then to the coordinator on its own UploadLog stream, batched for up to 200 ms); the bench polls that file every 5 ms, so this row is the farm\'s own path: agent → coordinator → CLI.',
      'Container side: the stamp comes from /proc/uptime inside the container (the host\'s boot clock, 10 ms steps, mapped to the host clock to about 1 ms); this row adds BuildKit\'s and dockerd\'s progress stream to the agent, and is an upper bound by up to 10 ms.',
    ],
    data: { fromAgent, fromContainer, lines, intervalMs },
  });
}

/** Polls the agent's spool file and notes when each numbered line first appears in it. */
async function watchSpool(path: string, seen: Map<number, number>, done: () => boolean): Promise<void> {
  let offset = 0;
  let partial = '';
  const deadline = Date.now() + 180_000;
  while (!done() && Date.now() < deadline) {
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size > offset) {
      const at = Date.now();
      const file = await open(path, 'r');
      const buffer = Buffer.alloc(size - offset);
      await file.read(buffer, 0, buffer.length, offset);
      await file.close();
      offset = size;
      partial += buffer.toString();
      const cut = partial.lastIndexOf('\n');
      for (const line of partial.slice(0, cut + 1).split('\n')) {
        const m = MARK.exec(line);
        if (m && !seen.has(Number(m[1]))) seen.set(Number(m[1]), at);
      }
      partial = partial.slice(cut + 1);
    }
    await sleep(5);
  }
}

runMain(NAME, main);
