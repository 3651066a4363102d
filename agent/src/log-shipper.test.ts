import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerReadableStream, type ServiceError } from '@grpc/grpc-js';
import { createLogger } from '@archfarm/common';
import { AgentServiceService, type LogAck, type LogChunk } from '@archfarm/proto';
import { agentServiceClient } from './coordinator-client';
import { LogShipper } from './log-shipper';

/**
 * A real gRPC server on 127.0.0.1:0 that keeps one log like the coordinator does (append at
 * the committed offset) and can be told to fail uploads, as a coordinator restart would.
 */
async function fakeCoordinator() {
  let log = Buffer.alloc(0);
  let failNext = 0;
  let stale = false;
  let uploads = 0;
  let freezeNext = 0;
  let largestUpload = 0;
  const server = new Server();
  server.addService(AgentServiceService, {
    connect: () => {},
    fetchContext: () => {},
    uploadLog: (call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>) => {
      uploads += 1;
      if (stale) return staleAnswer(call, callback);
      if (freezeNext > 0) {
        // A coordinator frozen with the connection open: it takes the bytes, never answers.
        freezeNext -= 1;
        call.on('data', () => {});
        return;
      }
      const refuse = failNext > 0;
      if (refuse) failNext -= 1;
      let bytes = 0;
      call.on('data', (chunk: LogChunk) => {
        bytes += chunk.data.length;
        largestUpload = Math.max(largestUpload, bytes);
        // Half of a refused upload lands before the "crash": the resend must not double it.
        const data = refuse ? Buffer.from(chunk.data).subarray(0, Math.floor(chunk.data.length / 2)) : Buffer.from(chunk.data);
        if (chunk.offset <= log.length) log = Buffer.concat([log, data.subarray(log.length - chunk.offset)]);
      });
      call.on('end', () => (refuse ? callback({ code: status.UNAVAILABLE, details: 'restarting' }) : callback(null, { committed: log.length })));
    },
    logOffset: (_call: unknown, callback: sendUnaryData<LogAck>) => (stale ? callback(staleError()) : callback(null, { committed: log.length })),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = agentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return {
    client,
    log: () => log,
    uploads: () => uploads,
    failUploads: (n: number) => (failNext = n),
    freezeUploads: (n: number) => (freezeNext = n),
    largestUpload: () => largestUpload,
    goStale: () => (stale = true),
    stop: () => (client.close(), server.forceShutdown()),
  };
}

/** What the coordinator answers for an attempt it no longer grants (StaleAttemptError through toServiceError). */
function staleError(): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('archfarm-code', 'STALE_ATTEMPT');
  return { code: status.UNAVAILABLE, details: 'job j attempt 1 is not current; stop that work', metadata };
}

function staleAnswer(call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>): void {
  call.on('data', () => {});
  call.on('end', () => callback(staleError()));
}

const silent = createLogger('test', 'silent');
const spoolIn = () => join(mkdtempSync(join(tmpdir(), 'archfarm-spool-')), 'job.1.log');

test('ships every line once, in order, also when uploads fail half-way', async () => {
  const coordinator = await fakeCoordinator();
  const spool = join(mkdtempSync(join(tmpdir(), 'archfarm-spool-')), 'job.1.log');
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, spool, createLogger('test', 'silent'));
  for (let i = 0; i < 50; i++) shipper.line(`line ${i}`);
  coordinator.failUploads(2);
  for (let i = 50; i < 100; i++) shipper.line(`line ${i}`);
  const committed = await shipper.close(new AbortController().signal);
  const expected = readFileSync(spool);
  assert.equal(committed, expected.length);
  assert.ok(coordinator.log().equals(expected), 'the coordinator holds exactly the spooled bytes');
  assert.match(expected.toString(), /^line 0\nline 1\n[\s\S]*line 99\n$/);
  coordinator.stop();
});

test('close gives up when the job is abandoned, and nothing is scheduled after it', async () => {
  const coordinator = await fakeCoordinator();
  const spool = join(mkdtempSync(join(tmpdir(), 'archfarm-spool-')), 'job.1.log');
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, spool, createLogger('test', 'silent'));
  coordinator.failUploads(1000);
  shipper.line('never acknowledged');
  const abandon = new AbortController();
  setTimeout(() => abandon.abort(), 300);
  const committed = await shipper.close(abandon.signal);
  assert.ok(committed < readFileSync(spool).length);
  shipper.line('after close');
  assert.ok(!readFileSync(spool, 'utf8').includes('after close'), 'a closed shipper takes no more lines');
  coordinator.stop();
});

test('STALE_ATTEMPT stops the uploads for good and tells the runner', async () => {
  const coordinator = await fakeCoordinator();
  let stale = 0;
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, spoolIn(), silent, { stale: () => (stale += 1) });
  coordinator.goStale();
  shipper.line('from an attempt that moved elsewhere');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(stale, 1, 'the runner heard of it once');
  const uploads = coordinator.uploads();
  shipper.line('more output');
  const started = Date.now();
  await shipper.close(new AbortController().signal);
  assert.ok(Date.now() - started < 1000, 'close does not retry a stale attempt');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(coordinator.uploads(), uploads, 'no upload after the refusal');
  assert.equal(coordinator.log().length, 0);
  coordinator.stop();
});

test('abandon drops the pending upload: nothing more is sent, close returns at once', async () => {
  const coordinator = await fakeCoordinator();
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, spoolIn(), silent);
  coordinator.failUploads(1000);
  shipper.line('never acknowledged');
  await new Promise((r) => setTimeout(r, 500));
  shipper.abandon();
  const uploads = coordinator.uploads();
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(coordinator.uploads(), uploads, 'no retry after abandon');
  shipper.line('after abandon');
  const committed = await shipper.close(new AbortController().signal);
  assert.equal(committed, 0);
  coordinator.stop();
});

test('a spool that cannot be written: reported once, the lines still reach the coordinator from memory, line() never throws', async () => {
  const coordinator = await fakeCoordinator();
  const dir = mkdtempSync(join(tmpdir(), 'archfarm-spool-'));
  writeFileSync(join(dir, 'logs'), 'a file where the logs directory should be');
  const failures: unknown[] = [];
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, join(dir, 'logs', 'job.1.log'), silent, { spoolFailed: (err) => failures.push(err) });
  for (let i = 0; i < 10; i++) shipper.line(`line ${i}`);
  await shipper.settled();
  shipper.line('archfarm: ERROR: the last word');
  await shipper.close(new AbortController().signal);
  assert.equal(failures.length, 1);
  assert.match(String((failures[0] as NodeJS.ErrnoException).code), /^(ENOTDIR|EEXIST)$/);
  assert.equal(coordinator.log().toString(), `${Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join('')}archfarm: ERROR: the last word\n`);
  coordinator.stop();
});

test('after a spool failure the memory tail is bounded: lines past it are dropped, not kept', async () => {
  const coordinator = await fakeCoordinator();
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, '/dev/full', silent, { spoolFailed: () => {} });
  shipper.line('first');
  await shipper.settled(); // ENOSPC: /dev/full takes no byte
  const line = 'x'.repeat(1023);
  for (let i = 0; i < 1024; i++) shipper.line(line); // 1 MiB in one go, four times the tail
  await shipper.close(new AbortController().signal);
  const shipped = coordinator.log().length;
  assert.ok(shipped <= 256 * 1024 + 64 * 1024, `at most about the tail reached the coordinator (${shipped} bytes)`);
  assert.ok(shipped >= 128 * 1024, `the tail did (${shipped} bytes)`);
  coordinator.stop();
});

test('an upload the coordinator never answers ends at its deadline and is resent; one upload carries at most maxBytes', async (t) => {
  const coordinator = await fakeCoordinator();
  t.after(() => coordinator.stop());
  const spool = spoolIn();
  const shipper = new LogShipper(() => coordinator.client, 'job', 1, spool, silent, {}, { deadlineMs: 300, maxBytes: 1024 });
  coordinator.freezeUploads(1);
  for (let i = 0; i < 500; i++) shipper.line(`line ${i}`);
  const committed = await shipper.close(new AbortController().signal);
  const expected = readFileSync(spool);
  assert.equal(committed, expected.length);
  assert.ok(coordinator.log().equals(expected), 'the coordinator holds exactly the spooled bytes');
  assert.ok(expected.length > 2048, 'the log needs several uploads');
  assert.ok(coordinator.uploads() >= 1 + Math.ceil(expected.length / 1024), `the frozen upload and then one per KiB (${coordinator.uploads()} uploads)`);
  assert.ok(coordinator.largestUpload() <= 1024, `no upload carried more than 1 KiB (largest ${coordinator.largestUpload()})`);
});
