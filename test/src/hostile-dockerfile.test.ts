import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { BuildServiceClient } from '@archfarm/proto';
import { CoordinatorChild } from './support/coordinator-child';
import { HeartbeatAgents } from './support/heartbeat-agents';
import { BIN, collect, run, type RunResult } from './support/processes';
import { submitRequest, uploadDockerfile } from './support/upload';

/*
 * Threat 2 (issue 15): Dockerfile analysis rebuilt the joined string for every continuation
 * line, so a 1 MiB file of `a \` lines held the coordinator's event loop for ~110 s: every
 * lease in the fleet expired, and --plan repeated it at will. Now the analysis is linear,
 * capped at 256 KiB and cached. Here the coordinator runs as its own process with 200
 * simulated agents heartbeating every second (leases of 4 s), 10 of them holding a job,
 * while that Dockerfile is planned five times at once: no lease expires, the coordinator
 * never stalls, `archfarm agents` answers throughout, and the plan says it did not analyse.
 */

const AGENTS = 200;
const HELD = 10;
const PLANS = 5;
const HOSTILE = `FROM alpine\nRUN ${'a \\\n'.repeat(262_144)}true\n`;

let dir: string;
let coordinator: CoordinatorChild;
let agents: HeartbeatAgents;
let builds: BuildServiceClient;

const cliEnv = () => ({ ARCHFARM_COORDINATOR: coordinator.address, ARCHFARM_INSECURE: '1', ARCHFARM_CONFIG: join(dir, 'cli-config.json') });
const cli = (args: string[]): Promise<RunResult> => run(process.execPath, [BIN.cli, ...args], { env: cliEnv() });

function unary<Req, Res>(fn: (req: Req, cb: (err: Error | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res!))));
}

/** The promise's value, or undefined after `ms` (the timer cleared either way, so it holds nothing open). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-hostile-dockerfile-'));
  coordinator = await CoordinatorChild.start(join(dir, 'data'), ['--insecure', '--heartbeat-interval', '1s', '--lease-ttl', '4s']);
  builds = new BuildServiceClient(coordinator.address, credentials.createInsecure());
  agents = new HeartbeatAgents(coordinator.address, AGENTS, 'linux/amd64', 1000);
  const small = await uploadDockerfile(builds, 'FROM alpine\nRUN true\n');
  await Promise.all(Array.from({ length: HELD }, (_, n) => unary(builds.submitBuild.bind(builds), submitRequest(small, { tag: `127.0.0.1:9/hostile/held:${n}` }))));
  await until(`${HELD} jobs assigned`, () => agents.leases === HELD, 20_000);
  await mkdir(join(dir, 'ctx'));
  await writeFile(join(dir, 'ctx', 'Dockerfile'), HOSTILE);
});

after(async () => {
  agents?.close();
  builds?.close();
  if (coordinator) {
    process.kill(coordinator.pid, 'SIGKILL');
    await coordinator.exited();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('1 MiB of continuation lines planned 5 times with 200 agents heartbeating: no lease expires, archfarm agents answers', async () => {
  const planArgs = ['build', '--plan', '--platform', 'linux/amd64', '-t', '127.0.0.1:9/hostile/plan:1', join(dir, 'ctx')];
  const plans = Array.from({ length: PLANS }, () => collect(spawn(process.execPath, [BIN.cli, ...planArgs], { env: { ...process.env, ...cliEnv() }, stdio: ['pipe', 'pipe', 'pipe'] })));
  let planning = true;
  const done = Promise.all(plans).finally(() => (planning = false));

  // `archfarm agents` while the plans run (and at least three times): each answers in time with every agent.
  const answers: number[] = [];
  for (let i = 0; planning || i < 3; i++) {
    const started = Date.now();
    const res = await within(cli(['agents', '--output', 'json']), 10_000);
    assert.ok(res, '`archfarm agents` did not answer within 10 s while the Dockerfile was planned');
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as unknown[]).length, AGENTS);
    answers.push(Date.now() - started);
  }
  const results = await within(done, 30_000);
  assert.ok(results, 'the plans did not finish within 30 s');
  for (const res of results) {
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Dockerfile not analysed: over the 256 KiB read for placement, so counted as not cross-compiling/);
  }

  // Past a whole lease TTL after the plans: still every lease held, none expired, no stall.
  await new Promise((r) => setTimeout(r, 5000));
  assert.deepEqual(agents.cancels, [], 'no job was taken from its agent');
  assert.equal(agents.leases, HELD);
  assert.doesNotMatch(coordinator.output, /lease expired/);
  assert.doesNotMatch(coordinator.output, /coordinator was stalled/);
  assert.match(coordinator.output, /Dockerfile too big to analyse/);
  assert.equal(coordinator.output.match(/Dockerfile too big to analyse/g)?.length, 1, 'analysed once: the cache served the other plans');
  console.log(`archfarm agents answered in ${answers.join(', ')} ms`);
});
