import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, ServerCredentials, status, type sendUnaryData, type ServerReadableStream } from '@grpc/grpc-js';
import { createLogger } from '@archfarm/common';
import { AgentServiceClient, AgentServiceService, type LogAck, type LogChunk } from '@archfarm/proto';
import { LogShipper } from './log-shipper';

/**
 * A real gRPC server on 127.0.0.1:0 that keeps one log like the coordinator does (append at
 * the committed offset) and can be told to fail uploads, as a coordinator restart would.
 */
async function fakeCoordinator() {
  let log = Buffer.alloc(0);
  let failNext = 0;
  const server = new Server();
  server.addService(AgentServiceService, {
    connect: () => {},
    fetchContext: () => {},
    uploadLog: (call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>) => {
      const refuse = failNext > 0;
      if (refuse) failNext -= 1;
      call.on('data', (chunk: LogChunk) => {
        // Half of a refused upload lands before the "crash": the resend must not double it.
        const data = refuse ? Buffer.from(chunk.data).subarray(0, Math.floor(chunk.data.length / 2)) : Buffer.from(chunk.data);
        if (chunk.offset <= log.length) log = Buffer.concat([log, data.subarray(log.length - chunk.offset)]);
      });
      call.on('end', () => (refuse ? callback({ code: status.UNAVAILABLE, details: 'restarting' }) : callback(null, { committed: log.length })));
    },
    logOffset: (_call: unknown, callback: sendUnaryData<LogAck>) => callback(null, { committed: log.length }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = new AgentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return { client, log: () => log, failUploads: (n: number) => (failNext = n), stop: () => (client.close(), server.forceShutdown()) };
}

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
