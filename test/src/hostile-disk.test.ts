import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { createLogger, parseDiskSize, parseRetention, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentServiceClient, BuildMode, BuildServiceClient, type Assign, type CoordinatorMessage } from '@archfarm/proto';
import { Coordinator } from '@archfarm/coordinator';
import { AgentPruner, ContextCache, DockerEngine } from '@archfarm/agent';
import { DOCKER_SOCKET, requireDocker } from './support/docker';
import { run } from './support/processes';
import { submitRequest, uploadDockerfile } from './support/upload';

/*
 * Threat 11 (issue 15): nothing was ever pruned, so contexts, logs and engine images grew until
 * the disk was full. Now the coordinator and the agent take --retention and --max-disk and
 * prune finished work oldest first, never what a running build uses.
 */

const DAY = 86_400_000;
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

async function tmp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("coordinator --retention 1d: a finished build's logs and context go, a running build's stay", async () => {
  const dataDir = await tmp('archfarm-prune-coord-');
  const coordinator = await Coordinator.start({ listen: '127.0.0.1:0', dataDir, insecure: true, retention: '1d' }, createLogger('archfarm-coordinator', 'silent'));
  cleanup.push(() => coordinator.stop(500));
  const address = `127.0.0.1:${coordinator.port}`;
  const builds = new BuildServiceClient(address, credentials.createInsecure());
  const agents = new AgentServiceClient(address, credentials.createInsecure());
  cleanup.push(async () => (builds.close(), agents.close()));
  const assigns: Assign[] = [];
  const stream = agents.connect();
  stream.on('data', (m: CoordinatorMessage) => void (m.msg?.$case === 'assign' && assigns.push(m.msg.value)));
  stream.on('error', () => undefined);
  cleanup.push(async () => stream.cancel());
  const hello = { name: 'pruned', version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'none', labels: {}, slots: 4, running: [] };
  stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_NATIVE }] } } });

  const start = async (dockerfile: string): Promise<{ assign: Assign; context: string }> => {
    const context = await uploadDockerfile(builds, dockerfile);
    const before = assigns.length;
    const request = submitRequest(context, { tag: '127.0.0.1:5999/prune:1' });
    await new Promise((resolve, reject) => builds.submitBuild(request, (err, res) => (err ? reject(err) : resolve(res))));
    await until('an Assign', () => assigns.length > before);
    const assign = assigns[before]!;
    stream.write({ msg: { $case: 'started', value: { jobId: assign.jobId, attempt: assign.attempt } } });
    await new Promise<void>((resolve, reject) => {
      const log = agents.uploadLog((err) => (err ? reject(err) : resolve()));
      log.write({ jobId: assign.jobId, attempt: assign.attempt, offset: 0, data: Buffer.from(`log of ${dockerfile}`) });
      log.end();
    });
    return { assign, context };
  };
  const finished = await start('FROM scratch\nLABEL finished=1\n');
  const running = await start('FROM scratch\nLABEL running=1\n');
  const fail = { code: 'RUN_FAILED', message: 'RUN exited 1', kind: 'build' };
  stream.write({ msg: { $case: 'finished', value: { jobId: finished.assign.jobId, attempt: finished.assign.attempt, digest: '', mediaType: '', size: 0, error: fail, bases: [] } } });

  const logsOf = (a: Assign) => join(dataDir, 'logs', a.spec!.buildId);
  const contextOf = (digest: string) => join(dataDir, 'contexts', 'sha256', digest.slice('sha256:'.length));
  assert.ok(existsSync(logsOf(finished.assign)) && existsSync(logsOf(running.assign)));
  // Two days on: the finished build is past --retention 1d once the coordinator has recorded its end.
  await until("the finished build's logs are pruned", async () => (await coordinator.prune(Date.now() + 2 * DAY), !existsSync(logsOf(finished.assign))));
  assert.ok(!existsSync(contextOf(finished.context)), "the finished build's context is pruned");
  assert.ok(existsSync(logsOf(running.assign)), "the running build's logs stay");
  assert.ok(existsSync(contextOf(running.context)), "the running build's context stays");
});

test('agent --retention / --max-disk: old cached contexts, spool files and its own job images go (real engine); a running job\'s stay', async () => {
  await requireDocker();
  const stateDir = await tmp('archfarm-prune-agent-');
  const engine = new DockerEngine({ host: { kind: 'unix', socketPath: DOCKER_SOCKET } });
  const prefix = 'archfarm-job/prune-h5/';
  const contexts = new ContextCache(join(stateDir, 'contexts'), () => {
    throw new Error('no coordinator in this test');
  });
  const digest = () => `sha256:${createHash('sha256').update(randomBytes(16)).digest('hex')}`;
  const [oldCtx, runningCtx, newCtx] = [digest(), digest(), digest()];
  await mkdir(join(stateDir, 'contexts'), { recursive: true });
  await mkdir(join(stateDir, 'logs'), { recursive: true });
  const files = {
    oldCtx: contexts.pathOf(oldCtx),
    runningCtx: contexts.pathOf(runningCtx),
    newCtx: contexts.pathOf(newCtx),
    oldSpool: join(stateDir, 'logs', 'job-old.1.log'),
    runningSpool: join(stateDir, 'logs', 'job-running.1.log'),
  };
  for (const f of Object.values(files)) await writeFile(f, randomBytes(4096));
  const tenDaysAgo = new Date(Date.now() - 10 * DAY);
  for (const f of [files.oldCtx, files.runningCtx, files.oldSpool, files.runningSpool]) await utimes(f, tenDaysAgo, tenDaysAgo);
  const images = { old: `${prefix}job-old:1`, running: `${prefix}job-running:1` };
  for (const ref of Object.values(images)) {
    const made = await run('sh', ['-c', `tar -cf - -T /dev/null | docker import - ${ref}`]);
    assert.equal(made.code, 0, made.stderr);
    cleanup.push(() => engine.removeImage(ref));
  }
  const held = () => ({ jobIds: new Set(['job-running']), attempts: new Set(['job-running.1']), contexts: new Set([runningCtx]) });
  const pruner = (retention: string, maxDisk: string, clock = Date.now) =>
    new AgentPruner({ stateDir, imagePrefix: prefix, engine, contexts, held, limits: { retentionMs: parseRetention(retention), maxDiskBytes: parseDiskSize(maxDisk) }, logger: createLogger('archfarm-agent', 'silent'), clock });

  // --retention 7d: the files ten days old go, the images (made now) stay.
  await pruner('7d', '20GiB').prune();
  assert.ok(!existsSync(files.oldCtx) && !existsSync(files.oldSpool), 'old context and spool file pruned');
  assert.ok(existsSync(files.runningCtx) && existsSync(files.runningSpool) && existsSync(files.newCtx), "a running job's files and a fresh context stay");
  assert.deepEqual((await engine.listImages(prefix)).map((i) => i.ref).sort(), [images.old, images.running]);

  // --max-disk 1KiB: over the limit, the oldest finished work goes, the running job's never.
  await pruner('7d', '1KiB').prune();
  assert.ok(!existsSync(files.newCtx), 'over --max-disk, the fresh context goes too');
  assert.deepEqual((await engine.listImages(prefix)).map((i) => i.ref), [images.running], "over --max-disk the finished job's image goes, the running job's stays");
  assert.ok(existsSync(files.runningCtx) && existsSync(files.runningSpool));
  assert.deepEqual((await readdir(join(stateDir, 'logs'))), ['job-running.1.log']);
});

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
