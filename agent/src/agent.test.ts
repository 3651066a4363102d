/**
 * The agent's job loop in-process, against a real gRPC server on 127.0.0.1:0 playing the
 * coordinator (testing/fake-coordinator.ts), a fake engine and an in-memory registry: assign,
 * cancel, a stale attempt's log, a state dir that cannot be written, a freeze, a reconnect
 * that does not resume. No Docker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { createLogger } from '@archfarm/common';
import { BuildMode, JobSpec, type Assign } from '@archfarm/proto';
import { Agent } from './agent';
import { compileAgentOptions } from './options';
import { FakeCoordinator } from './testing/fake-coordinator';
import { FakeEngine } from './testing/fake-engine';
import { FakeRegistry } from './testing/fake-registry';

interface Rig {
  coordinator: FakeCoordinator;
  registry: FakeRegistry;
  engine: FakeEngine;
  agent: Agent;
  stateDir: string;
  context: string;
  /** The agent's clock: the real one plus `skew`. */
  clock: { skew: number };
}

let rig: Rig | undefined;
afterEach(async () => {
  if (!rig) return;
  await rig.agent.stop(2000);
  rig.coordinator.stop();
  rig.registry.stop();
  rmSync(rig.stateDir, { recursive: true, force: true });
  rig = undefined;
});

async function start(opts: { leaseTtlMs?: number; slots?: number } = {}): Promise<Rig> {
  const coordinator = await new FakeCoordinator({ leaseTtlMs: opts.leaseTtlMs }).start();
  const registry = await new FakeRegistry().start();
  const engine = new FakeEngine();
  const stateDir = mkdtempSync(join(tmpdir(), 'archfarm-agent-test-'));
  const options = compileAgentOptions({ coordinator: coordinator.address, name: 'test-agent', stateDir, platforms: 'linux/amd64', slots: opts.slots ?? 1, insecure: true });
  const clock = { skew: 0 };
  const agent = new Agent(options, engine, createLogger('test', 'silent'), { clock: () => Date.now() + clock.skew });
  await agent.start();
  await coordinator.waitFor('the Hello', () => coordinator.all('hello')[0]);
  rig = { coordinator, registry, engine, agent, stateDir, context: coordinator.addContext({ Dockerfile: 'FROM scratch\n' }), clock };
  return rig;
}

function assignment(r: Rig, jobId: string, attempt = 1): Assign {
  const spec = JobSpec.fromPartial({ buildId: 'b1', platform: 'linux/amd64', contextDigest: r.context, dockerfile: 'Dockerfile', repository: `${r.registry.host}/team/app`, insecureRegistry: true });
  return { jobId, attempt, leaseId: attempt * 10, mode: BuildMode.BUILD_MODE_NATIVE, spec, tokens: [] };
}

const finishedOf = (r: Rig, jobId: string, attempt = 1) => () => r.coordinator.all('finished').find((f) => f.jobId === jobId && f.attempt === attempt);
const startedOf = (r: Rig, jobId: string, attempt = 1) => () => r.coordinator.all('started').find((s) => s.jobId === jobId && s.attempt === attempt);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('assign: Started, the log, then Finished with the pushed digest', async () => {
  const r = await start();
  r.coordinator.assign(assignment(r, 'j1'));
  await r.coordinator.waitFor('Started', startedOf(r, 'j1'));
  const finished = await r.coordinator.waitFor('Finished', finishedOf(r, 'j1'));
  assert.equal(finished.error, undefined, JSON.stringify(finished.error));
  assert.match(finished.digest, /^sha256:[a-f0-9]{64}$/);
  assert.ok(r.registry.manifests.has(finished.digest), 'the manifest was pushed by digest');
  const log = r.coordinator.log('j1', 1);
  assert.match(log, /^archfarm: building linux\/amd64 on test-agent \(native\)\n/);
  assert.match(log, /fake build .* line 1\n/);
  assert.match(log, /archfarm: pushed .*@sha256:/, 'the log is shipped before Finished');
});

test('Cancel: the engine is aborted, the slot is free at once, no Finished, the uploads stop', async () => {
  const r = await start();
  r.engine.hold = true;
  r.coordinator.assign(assignment(r, 'j1'));
  await r.coordinator.waitFor('log uploads of j1', () => ((r.coordinator.uploads.get('j1.1') ?? 0) >= 2 ? true : undefined));
  r.coordinator.cancel('j1', 1);
  await r.coordinator.waitFor('the build to be aborted', () => (r.engine.builds[0]!.aborted ? true : undefined));
  const uploads = r.coordinator.uploads.get('j1.1');
  r.coordinator.assign(assignment(r, 'j2'));
  await r.coordinator.waitFor('Started of j2 in the freed slot', startedOf(r, 'j2'));
  assert.deepEqual(r.coordinator.all('rejected'), [], 'the second Assign was taken');
  r.engine.builds[1]!.succeed();
  await r.coordinator.waitFor('Finished of j2', finishedOf(r, 'j2'));
  await sleep(1500);
  assert.equal(finishedOf(r, 'j1')(), undefined, 'no Finished for the cancelled attempt');
  assert.equal(r.coordinator.uploads.get('j1.1'), uploads, 'no upload of the cancelled attempt after the Cancel');
  const lastBeat = r.coordinator.all('heartbeat').at(-1)!;
  assert.ok(!lastBeat.held.some((h) => h.jobId === 'j1'), 'heartbeats no longer list it');
});

test('STALE_ATTEMPT on a log upload: no retry, the attempt is dropped (engine aborted, slot free, no Finished)', async () => {
  const r = await start();
  r.engine.hold = true;
  r.coordinator.stale.add('j1.1');
  r.coordinator.assign(assignment(r, 'j1'));
  await r.coordinator.waitFor('the build to be aborted', () => (r.engine.builds[0]?.aborted ? true : undefined));
  const uploads = r.coordinator.uploads.get('j1.1');
  assert.equal(uploads, 1, 'one upload, refused');
  await sleep(2500);
  assert.equal(r.coordinator.uploads.get('j1.1'), uploads, 'never retried');
  assert.equal(finishedOf(r, 'j1')(), undefined);
  r.engine.hold = false;
  r.coordinator.assign(assignment(r, 'j2'));
  const finished = await r.coordinator.waitFor('Finished of j2', finishedOf(r, 'j2'));
  assert.equal(finished.error, undefined);
});

test('a state dir that cannot be written: Finished with STATE_DIR_UNWRITABLE naming it, and the next Assign runs', async () => {
  const r = await start();
  r.engine.hold = true;
  writeFileSync(join(r.stateDir, 'logs'), 'a file where the spool directory should be');
  r.coordinator.assign(assignment(r, 'j1'));
  const finished = await r.coordinator.waitFor('Finished of j1', finishedOf(r, 'j1'));
  assert.equal(finished.error?.code, 'STATE_DIR_UNWRITABLE');
  assert.equal(finished.error?.kind, 'infrastructure', 'retried, maybe elsewhere');
  assert.match(finished.error!.message, new RegExp(`state dir ${r.stateDir} is not writable \\((ENOTDIR|EEXIST): .*${join(r.stateDir, 'logs')}`));
  assert.ok(r.engine.builds[0]!.aborted, "the engine's work was stopped");
  assert.match(r.coordinator.log('j1', 1), /archfarm: ERROR: the agent's state dir .* is not writable/, 'the error line reached the coordinator from memory');
  rmSync(join(r.stateDir, 'logs'));
  r.engine.hold = false;
  r.coordinator.assign(assignment(r, 'j2'));
  const next = await r.coordinator.waitFor('Finished of j2', finishedOf(r, 'j2'));
  assert.equal(next.error, undefined, JSON.stringify(next.error));
});

test('a freeze longer than the lease (the clock jumps between two watchdog ticks): every held attempt is dropped', async () => {
  const r = await start({ leaseTtlMs: 5000, slots: 2 });
  r.engine.hold = true;
  r.coordinator.assign(assignment(r, 'j1'));
  r.coordinator.assign(assignment(r, 'j2'));
  await r.coordinator.waitFor('both started', () => (startedOf(r, 'j1')() && startedOf(r, 'j2')() ? true : undefined));
  r.clock.skew += 6000; // as if SIGSTOP had held the process for 6 s
  await r.coordinator.waitFor('both builds aborted', () => (r.engine.builds.every((b) => b.aborted) ? true : undefined), 3000);
  const beats = r.coordinator.all('heartbeat').length;
  await r.coordinator.waitFor('a heartbeat after the freeze', () => (r.coordinator.all('heartbeat').length > beats ? true : undefined));
  assert.deepEqual(r.coordinator.all('heartbeat').at(-1)!.held, [], 'nothing held any more');
  assert.deepEqual(r.coordinator.all('finished'), []);
});

test('a clock that moves normally drops nothing', async () => {
  const r = await start({ leaseTtlMs: 5000 });
  r.engine.hold = true;
  r.coordinator.assign(assignment(r, 'j1'));
  await r.coordinator.waitFor('Started', startedOf(r, 'j1'));
  r.clock.skew += 3000; // a stall shorter than the lease
  await sleep(2500);
  assert.equal(r.engine.builds[0]!.aborted, false);
  r.engine.builds[0]!.succeed();
  assert.equal((await r.coordinator.waitFor('Finished', finishedOf(r, 'j1'))).error, undefined);
});

test('a reconnect whose Welcome does not resume the attempt drops it; a resumed one goes on', async () => {
  const r = await start({ slots: 2 });
  r.engine.hold = true;
  r.coordinator.assign(assignment(r, 'j1'));
  r.coordinator.assign(assignment(r, 'j2'));
  await r.coordinator.waitFor('both started', () => (startedOf(r, 'j1')() && startedOf(r, 'j2')() ? true : undefined));
  r.coordinator.resume = (held) => held.jobId === 'j2';
  r.coordinator.dropStream();
  const hello = await r.coordinator.waitFor('the second Hello', () => r.coordinator.all('hello')[1]);
  assert.deepEqual(hello.running.map((h) => [h.jobId, h.attempt, h.leaseId]).sort(), [['j1', 1, 10], ['j2', 1, 10]]);
  await r.coordinator.waitFor('j1 aborted', () => (r.engine.builds[0]!.aborted ? true : undefined));
  assert.equal(r.engine.builds[1]!.aborted, false, 'the resumed attempt goes on');
  r.engine.builds[1]!.succeed();
  assert.equal((await r.coordinator.waitFor('Finished of j2', finishedOf(r, 'j2'))).error, undefined);
  await sleep(500);
  assert.equal(finishedOf(r, 'j1')(), undefined);
});
