import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { baseImage, bundleAgent, foreignNode, makeContext, startForeignAgent, submitDetached, testRegistry, TestFleet, waitFor, type ForeignAgent, type ForeignArch } from '@archfarm/test';
import { Knobs } from './lib/knobs';
import { runMain, say, sleep } from './lib/main';
import { ProcessSampler, rssBytes } from './lib/proc';
import { publishResult } from './lib/results';
import { formatMiB, formatMs } from './lib/table';

const NAME = 'footprint';

interface Variant {
  label: string;
  cpu: string;
  /** The Node.js binary: the host's, or a foreign one run by QEMU user mode. */
  node: () => Promise<string>;
}

interface Footprint {
  label: string;
  firstStartMs: number;
  restartMs: number;
  idleRss: number;
  buildPeakRss: number;
  buildMs: number;
}

async function main(): Promise<void> {
  const knobs = new Knobs();
  const arches = (process.env.BENCH_FOOTPRINT_EMULATED ?? 'arm64,s390x').split(',').filter(Boolean) as ForeignArch[];
  const idleMs = knobs.int('FOOTPRINT_IDLE_MS', 5000, 3000);
  const mib = knobs.int('FOOTPRINT_BUILD_MIB', 50, 20);
  const startedAt = new Date();
  const variants: Variant[] = [
    { label: 'x86_64, native', cpu: 'x64', node: () => Promise.resolve(process.execPath) },
    ...arches.map((arch) => ({ label: `${arch}, EMULATED (QEMU user mode)`, cpu: arch, node: () => foreignNode(arch) })),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-bench-bundle-'));
  const bundle = join(dir, 'archfarm-agent.cjs');
  await copyFile(await bundleAgent(), bundle);
  const context = await makeContext({
    Dockerfile: `FROM ${baseImage()}\nARG NONCE\nRUN echo "$NONCE" > /nonce && for i in $(seq 1 200); do echo "output line $i"; done && dd if=/dev/zero bs=1M count=${mib} 2>/dev/null | md5sum\n`,
  });
  const fleet = await TestFleet.start([]);
  const results: Footprint[] = [];
  try {
    for (const v of variants) results.push(await measure(fleet, v, bundle, context, idleMs));
  } finally {
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(context, { recursive: true, force: true });
  }
  await publishResult({
    name: NAME,
    title: 'Agent footprint: the single-file agent, native and under QEMU',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    settings: { ...knobs.settings(), emulated: arches.join(',') },
    reduced: knobs.reduced || arches.join(',') !== 'arm64,s390x',
    table: {
      columns: ['agent CPU', 'first start (enrol + probe + connect)', 'restart (probe + connect)', 'idle RSS', 'peak RSS during a build', 'build'],
      rows: results.map((r) => [r.label, formatMs(r.firstStartMs), formatMs(r.restartMs), formatMiB(r.idleRss), formatMiB(r.buildPeakRss), formatMs(r.buildMs)]),
    },
    notes: [
      'The agent as shipped to machines: the single-file bundle (agent/dist/bundle/archfarm-agent.cjs, scripts/bundle-agent.mjs), run by the host\'s Node.js for x86_64, and by npm\'s node-linux-<arch> binaries (scripts/foreign-node.sh) through QEMU user-mode emulation for the others. EMULATED rows measure the agent\'s JavaScript under QEMU, which is slower than the real CPU; RSS there is the QEMU process\'s (guest memory plus translated code).',
      'Start-up: from spawning the process to its "connected to coordinator" log line. The first start creates a key, enrols with a join token (mTLS certificate) and probes the engine (which platforms run natively or under QEMU); the restart reuses the certificate. --platform linux/amd64 --slots 1.',
      `Idle RSS: ${idleMs / 1000} s after connecting. During a build: the agent builds linux/amd64 on the host's engine (so the engine's work is the same for all rows): a Dockerfile printing 200 lines and hashing ${mib} MiB; the agent fetches the context, reads BuildKit's progress, ships the log, saves and pushes the image. Peak of /proc samples every 100 ms.`,
    ],
    data: { results },
  });
}

async function measure(fleet: TestFleet, v: Variant, bundle: string, context: string, idleMs: number): Promise<Footprint> {
  const node = await v.node();
  const name = `footprint-${v.cpu}`;
  say(NAME, `${v.label}: first start`);
  let agent = await startForeignAgent(fleet, node, bundle, { name, platforms: 'linux/amd64', labels: [`cpu=${v.cpu}`] });
  const firstStartMs = await connected(agent);
  await agent.stop();
  say(NAME, `${v.label}: restart`);
  agent = await startForeignAgent(fleet, node, bundle, { name, platforms: 'linux/amd64', labels: [`cpu=${v.cpu}`] });
  try {
    const restartMs = await connected(agent);
    await sleep(idleMs);
    const idleRss = rssBytes(agent.child.pid!);
    say(NAME, `${v.label}: a build`);
    const tag = `${testRegistry()}/bench/footprint-${randomBytes(4).toString('hex')}:${v.cpu}`;
    const sampler = new ProcessSampler(agent.child.pid!, 100);
    const t = Date.now();
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '--require-label', `cpu=${v.cpu}`, '-t', tag, '--build-arg', `NONCE=${randomBytes(4).toString('hex')}`, context]);
    const done = await waitFor(fleet, id, (b) => ['published', 'failed', 'cancelled'].includes(b.state), 600_000, `the build on ${name}`);
    const buildMs = Date.now() - t;
    const usage = sampler.stop();
    if (done.state !== 'published') throw new Error(`the build on ${name} ended ${done.state}: ${JSON.stringify(done.error)}`);
    return { label: v.label, firstStartMs, restartMs, idleRss, buildPeakRss: usage.peakRss, buildMs };
  } finally {
    await agent.stop();
  }
}

/** Time from now (just after the spawn) to the agent's "connected to coordinator" log line. */
async function connected(agent: ForeignAgent, timeoutMs = 300_000): Promise<number> {
  const start = Date.now();
  while (!agent.log().includes('"msg":"connected to coordinator"')) {
    if (agent.child.exitCode !== null) throw new Error(`the agent exited (${agent.child.exitCode}):\n${agent.log().slice(-3000)}`);
    if (Date.now() - start > timeoutMs) throw new Error(`the agent did not connect in ${timeoutMs} ms:\n${agent.log().slice(-3000)}`);
    await sleep(20);
  }
  return Date.now() - start;
}

runMain(NAME, main);
