import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { AgentServiceClient, AgentServiceService, type DataChunk, type FetchContextRequest } from '@archfarm/proto';
import { ContextCache } from '@archfarm/agent';

/*
 * Threat 10 (issue 15): two platforms of one build fetching the same context on one agent in
 * the same millisecond wrote one temporary file (<pid>.<ms>.part), so one of them could
 * build from a torn or vanished tar. Now one cache shares one download, and every download
 * has its own crypto-random temporary name. The clock is frozen, so "the same millisecond" is
 * certain; the server sends slowly in small chunks, so the downloads overlap.
 */

const context = randomBytes(1024 * 1024);
const digest = `sha256:${createHash('sha256').update(context).digest('hex')}`;
let served = 0;
const server = new Server();
let client: AgentServiceClient;
const dirs: string[] = [];

before(async () => {
  server.addService(AgentServiceService, {
    fetchContext: (call: ServerWritableStream<FetchContextRequest, DataChunk>) => void slowly(call),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  client = new AgentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});
after(async () => {
  client?.close();
  server.forceShutdown();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function slowly(call: ServerWritableStream<FetchContextRequest, DataChunk>): Promise<void> {
  served++;
  for (let at = 0; at < context.length; at += 16 * 1024) {
    call.write({ data: context.subarray(at, at + 16 * 1024) });
    await new Promise((r) => setTimeout(r, 2));
  }
  call.end();
}

async function cacheDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-ctxfetch-'));
  dirs.push(dir);
  return join(dir, 'contexts');
}

/** Runs `fn` with Date.now stuck at one millisecond. */
async function inOneMillisecond<T>(fn: () => Promise<T>): Promise<T> {
  const real = Date.now;
  const frozen = real();
  Date.now = () => frozen;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

async function assertIntact(path: string): Promise<void> {
  const bytes = await readFile(path);
  assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, digest, `${path} holds the context`);
}

test('two jobs of one build fetch one context at once on one agent: one download, both get the verified tar', async () => {
  const dir = await cacheDir();
  const cache = new ContextCache(dir, () => client);
  const before = served;
  const [a, b] = await inOneMillisecond(() => Promise.all([cache.get(digest), cache.get(digest)]));
  assert.equal(a, b);
  await assertIntact(a);
  assert.equal(served - before, 1, 'the second job waits for the first download');
  assert.deepEqual(await readdir(dir), [digest.replace(':', '-') + '.tar'], 'no temporary file is left');
});

test('two caches on one state dir (no shared download) fetch at once: each its own temporary file, both correct', async () => {
  const dir = await cacheDir();
  const first = new ContextCache(dir, () => client);
  const second = new ContextCache(dir, () => client);
  const before = served;
  const [a, b] = await inOneMillisecond(() => Promise.all([first.get(digest), second.get(digest)]));
  assert.equal(served - before, 2, 'both downloaded, at the same time');
  await assertIntact(a);
  await assertIntact(b);
  assert.deepEqual(await readdir(dir), [digest.replace(':', '-') + '.tar'], 'no temporary file is left');
});
