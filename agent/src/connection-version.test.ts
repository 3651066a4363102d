import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { credentials, Metadata, Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import pino from 'pino';
import { PROTOCOL_VERSION, type Logger } from '@archfarm/common';
import { AgentServiceService, type AgentMessage, type CoordinatorMessage, type Hello } from '@archfarm/proto';
import { Connection } from './connection';

/** A real gRPC server on 127.0.0.1:0 whose Connect does what `answer` says; it keeps what the agent sent. */
async function coordinator(answer: (call: ServerDuplexStream<AgentMessage, CoordinatorMessage>) => void) {
  const seen: { metadata: Metadata[]; hellos: Hello[] } = { metadata: [], hellos: [] };
  const server = new Server();
  server.addService(AgentServiceService, {
    connect: (call: ServerDuplexStream<AgentMessage, CoordinatorMessage>) => {
      seen.metadata.push(call.metadata);
      call.once('data', (m: AgentMessage) => {
        if (m.msg?.$case === 'hello') seen.hellos.push(m.msg.value);
        answer(call);
      });
      call.on('error', () => undefined);
    },
    fetchContext: () => undefined,
    uploadLog: () => undefined,
    logOffset: () => undefined,
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, seen, stop: () => server.forceShutdown() };
}

/** A logger whose lines the test reads. */
function capture(): { logger: Logger; lines: Array<{ level: number; msg: string; err?: string }> } {
  const lines: Array<{ level: number; msg: string; err?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

function connection(address: string, logger: Logger): Connection {
  const hello = (): Hello => ({ name: 'pi-1', version: '0.1.0', protocol: PROTOCOL_VERSION, nodeVersion: process.version, platforms: [], slots: 1, engine: 'none', labels: {}, running: [] });
  return new Connection(address, credentials.createInsecure(), { hello, held: () => [], onWelcome: () => {}, onAssign: () => {}, onCancel: () => {} }, logger);
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(done(), `timed out waiting for ${what}`);
}

const ERROR = 50;

test('an agent refused for its protocol logs it as an error, by name; it said its version in headers and Hello', async (t) => {
  const details = 'archfarm agent 0.1.0 speaks protocol 1; this coordinator (9.0.0) accepts protocol 7: upgrade the agent';
  const server = await coordinator((call) => {
    const trailers = new Metadata();
    trailers.set('archfarm-code', 'PROTOCOL_MISMATCH');
    call.emit('error', { code: status.FAILED_PRECONDITION, details, metadata: trailers });
  });
  t.after(server.stop);
  const { logger, lines } = capture();
  const conn = connection(server.address, logger);
  t.after(() => conn.stop());
  conn.start();
  await until('the refusal in the log', () => lines.some((l) => l.level === ERROR));
  const refusal = lines.find((l) => l.level === ERROR)!;
  assert.equal(refusal.msg, 'the coordinator refused this agent: protocol mismatch');
  assert.match(refusal.err ?? '', /upgrade the agent/);
  assert.equal(server.seen.hellos[0]?.protocol, PROTOCOL_VERSION);
  assert.equal(server.seen.metadata[0]?.get('archfarm-program')[0], 'agent');
  assert.equal(server.seen.metadata[0]?.get('archfarm-protocol')[0], String(PROTOCOL_VERSION));
});

test('a coordinator whose Welcome speaks a protocol the agent does not accept is logged as an error', async (t) => {
  const server = await coordinator((call) => void call.write({ msg: { $case: 'welcome', value: { heartbeatIntervalMs: 60_000, leaseTtlMs: 60_000, resume: [], coordinatorVersion: '9.0.0', protocol: 99 } } }));
  t.after(server.stop);
  const { logger, lines } = capture();
  const conn = connection(server.address, logger);
  t.after(() => conn.stop());
  conn.start();
  await until('the mismatch in the log', () => lines.some((l) => l.level === ERROR));
  const line = lines.find((l) => l.level === ERROR)!;
  assert.equal(line.msg, 'protocol mismatch with the coordinator');
  assert.match(line.err ?? '', /^the coordinator \(9\.0\.0\) speaks protocol 99; this agent \(.+\) accepts .+: upgrade the agent$/);
});
