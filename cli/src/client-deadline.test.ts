import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { PROTOCOL_VERSION } from '@archfarm/common';
import { createClient, VersionServiceClient, VersionServiceService, type GetVersionRequest, type GetVersionResponse } from '@archfarm/proto';
import { connectVersionService } from './client';
import { CoordinatorError } from './errors';

/** A real gRPC server on 127.0.0.1:0 whose GetVersion never answers; it keeps the metadata it was sent. */
async function silentServer(): Promise<{ address: string; seen: Metadata[]; stop: () => void }> {
  const server = new Server();
  const seen: Metadata[] = [];
  server.addService(VersionServiceService, {
    getVersion: (call: ServerUnaryCall<GetVersionRequest, GetVersionResponse>, _callback: sendUnaryData<GetVersionResponse>) => {
      seen.push(call.metadata);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, seen, stop: () => server.forceShutdown() };
}

test('a unary call the server never answers fails at its deadline (the factory default, then a per-call one)', async (t) => {
  const server = await silentServer();
  t.after(server.stop);
  const client = createClient(VersionServiceClient, server.address, credentials.createInsecure(), {}, { deadlineMs: 300 });
  t.after(() => client.close());
  await assert.rejects(client.getVersion({}), (err: { code?: number }) => err.code === status.DEADLINE_EXCEEDED);
  await assert.rejects(client.getVersion({}, { deadlineMs: 100 }), (err: { code?: number }) => err.code === status.DEADLINE_EXCEEDED);
  assert.equal(server.seen.length, 2, 'both calls reached the server: the deadline, not the transport, ended them');
});

test("the CLI's clients map a missed deadline to a clear error and say which CLI is calling", async (t) => {
  const server = await silentServer();
  t.after(server.stop);
  const client = connectVersionService({ address: server.address, caPem: undefined, token: 'secret' });
  t.after(() => client.close());
  await assert.rejects(
    client.getVersion({}, { deadlineMs: 200 }),
    (err: unknown) =>
      err instanceof CoordinatorError &&
      err.status === 'DEADLINE_EXCEEDED' &&
      err.rpc === 'GetVersion' &&
      err.message === `the coordinator at ${server.address} did not answer GetVersion in time`,
  );
  const md = server.seen[0]!;
  assert.equal(md.get('archfarm-program')[0], 'cli');
  assert.equal(md.get('archfarm-protocol')[0], String(PROTOCOL_VERSION));
  assert.equal(md.get('authorization')[0], 'Bearer secret');
});
