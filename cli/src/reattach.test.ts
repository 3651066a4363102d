import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isRetriable, lossReason, noteLine, reattachDelay, REATTACH } from './reattach';

function serviceError(code: status, details: string, remoteCode?: string): ServiceError {
  const metadata = new Metadata();
  if (remoteCode) metadata.set('archfarm-code', remoteCode);
  return Object.assign(new Error(details), { code, details, metadata });
}

test('waits double from 0.5 s up to 5 s, each between half and all of that', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 40].map((n) => reattachDelay(REATTACH, n, () => 1)), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.deepEqual([0, 3, 9].map((n) => reattachDelay(REATTACH, n, () => 0)), [250, 2000, 2500]);
  assert.equal(REATTACH.giveUpAfterMs, 600_000);
});

test('what is re-attached after: a lost connection, a restarting coordinator; not a refusal or a bug', () => {
  const cases: Array<[ServiceError, boolean]> = [
    [serviceError(status.UNAVAILABLE, 'Connection dropped'), true],
    [serviceError(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7420. Resolution note: '), true],
    [serviceError(status.UNAVAILABLE, 'build b1 is not resumed yet', 'BUILD_NOT_RESTORED'), true],
    [serviceError(status.CANCELLED, 'Call cancelled'), true],
    [serviceError(status.ABORTED, 'aborted'), true],
    [serviceError(status.UNAVAILABLE, 'No connection established. Last error: Error: self-signed certificate in certificate chain'), false],
    [serviceError(status.NOT_FOUND, 'build b1 not found', 'BUILD_NOT_FOUND'), false],
    [serviceError(status.PERMISSION_DENIED, 'viewer'), false],
    [serviceError(status.UNAUTHENTICATED, 'token expired'), false],
    [serviceError(status.INVALID_ARGUMENT, 'bad id'), false],
    [serviceError(status.INTERNAL, 'TypeError: x is undefined'), false],
    [serviceError(status.UNIMPLEMENTED, 'no such method'), false],
  ];
  for (const [err, retried] of cases) assert.equal(isRetriable(err), retried, `${status[err.code]} ${err.details}`);
  assert.equal(isRetriable(new Error('not a gRPC error')), false);
});

test('the note names the cause briefly', () => {
  assert.equal(lossReason(serviceError(status.UNAVAILABLE, 'Connection dropped')), 'connection dropped');
  assert.equal(lossReason(serviceError(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7420. Resolution note: ')), 'connect ECONNREFUSED 127.0.0.1:7420');
  assert.equal(lossReason(serviceError(status.UNAVAILABLE, 'build b1 is not resumed yet', 'BUILD_NOT_RESTORED')), 'BUILD_NOT_RESTORED');
  assert.equal(lossReason(serviceError(status.CANCELLED, 'Call cancelled')), 'it closed the stream');
  assert.equal(noteLine({ type: 'lost', reason: 'connection dropped' }), 'archfarm: lost the coordinator (connection dropped); re-attaching');
  assert.equal(noteLine({ type: 'reattached' }), 'archfarm: re-attached');
});
