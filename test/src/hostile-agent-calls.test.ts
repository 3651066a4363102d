import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentServiceClient, BuildMode, type AgentMessage, type Assign, type CoordinatorMessage, type DataChunk } from '@archfarm/proto';
import { SecureCoordinator, buildRequest, call, refusal, type AgentKeys } from './support/secure-coordinator';

/*
 * Threat 8 (issue 15): UploadLog, LogOffset and FetchContext did not check that the calling
 * agent holds the attempt, so any enrolled agent could write into another's log, and a late
 * write after a job ended reopened its closed log file (leaking the descriptor). Now the
 * lifecycle's holdings decide: only the holder of the attempt gets in, and an ended attempt
 * is stale.
 */

const OPTIONS = { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME };

let farm: SecureCoordinator;
before(async () => {
  farm = await SecureCoordinator.start();
});
after(async () => {
  await farm?.stop();
});

interface Agent {
  name: string;
  client: AgentServiceClient;
  assigns: Assign[];
  send(message: AgentMessage['msg']): void;
}

async function agent(name: string): Promise<Agent> {
  const keys: AgentKeys = await farm.enrol(name, await farm.joinToken());
  const client = new AgentServiceClient(farm.address, farm.agent(keys), OPTIONS);
  const stream = client.connect();
  const assigns: Assign[] = [];
  stream.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    stream.on('data', (m: CoordinatorMessage) => {
      if (m.msg?.$case === 'welcome') resolve();
      if (m.msg?.$case === 'assign') assigns.push(m.msg.value);
    });
    const hello = { name, version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'none', labels: {}, slots: 2, running: [] };
    stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_NATIVE }] } } });
  });
  after(() => (stream.cancel(), client.close()));
  return { name, client, assigns, send: (msg) => void stream.write({ msg }) };
}

function upload(a: Agent, jobId: string, attempt: number, offset: number, data: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const log = a.client.uploadLog((err: ServiceError | null, res) => (err ? reject(err) : resolve(res)));
    log.write({ jobId, attempt, offset, data: Buffer.from(data) });
    log.end();
  });
}

function offset(a: Agent, jobId: string, attempt: number): Promise<{ committed: number }> {
  return call((cb) => a.client.logOffset({ jobId, attempt }, cb));
}

function fetchContext(a: Agent, digest: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const s = a.client.fetchContext({ digest });
    s.on('data', (c: DataChunk) => (bytes += c.data.length));
    s.on('error', reject);
    s.on('end', () => resolve(bytes));
  });
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Descriptors of this process (the coordinator runs in it) open on `path`. */
function openOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

test('only the agent holding an attempt may upload its log, read its offset or fetch its context; an ended attempt stays closed', async () => {
  const [a, b] = [await agent('rack-a'), await agent('rack-b')];
  const digest = await farm.upload('FROM scratch\nLABEL hostile=agent-calls\n');
  await call((cb) => farm.builds().submitBuild(buildRequest(digest), cb));
  await until('an Assign', () => a.assigns.length + b.assigns.length > 0);
  const [holder, outsider] = a.assigns.length > 0 ? [a, b] : [b, a];
  const { jobId, attempt, spec } = holder.assigns[0]!;
  const logPath = join(farm.dataDir, 'logs', spec!.buildId, `${jobId}.${attempt}.log`);

  await upload(holder, jobId, attempt, 0, 'real output\n');
  assert.equal((await offset(holder, jobId, attempt)).committed, 12);
  assert.ok((await fetchContext(holder, digest)) > 0, 'the holder fetches its context');

  for (const [what, refused] of [
    ['UploadLog', upload(outsider, jobId, attempt, 12, 'forged line\n')],
    ['LogOffset', offset(outsider, jobId, attempt)],
    ['FetchContext', fetchContext(outsider, digest)],
  ] as const) {
    const err = await refusal(refused);
    assert.equal(err.code, status.PERMISSION_DENIED, `${what} by ${outsider.name}: ${err.details}`);
    assert.match(err.details, new RegExp(`agent ${outsider.name} does not hold`), what);
  }
  assert.equal(readFileSync(logPath, 'utf8'), 'real output\n', "the outsider's line is not in the log");

  const fail = { code: 'RUN_FAILED', message: 'RUN exited 1', kind: 'build' };
  holder.send({ $case: 'finished', value: { jobId, attempt, digest: '', mediaType: '', size: 0, error: fail, bases: [] } });
  await until('the log file closed', () => openOn(logPath) === 0);
  const late = await refusal(upload(holder, jobId, attempt, 12, 'late line\n'));
  assert.equal(late.code, status.FAILED_PRECONDITION, late.details);
  assert.match(late.details, /not current/);
  const lateOffset = await refusal(offset(holder, jobId, attempt));
  assert.equal(lateOffset.code, status.FAILED_PRECONDITION);
  assert.equal(openOn(logPath), 0, 'the late write did not reopen the file');
  assert.equal(readFileSync(logPath, 'utf8'), 'real output\n', 'nor write to it');
  const lateContext = await refusal(fetchContext(holder, digest));
  assert.equal(lateContext.code, status.PERMISSION_DENIED, 'an ended attempt holds no context');
});
