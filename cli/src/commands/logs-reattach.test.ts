import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServerWritableStream } from '@grpc/grpc-js';
import { BuildMode, type JobLog, type StreamLogsRequest } from '@archfarm/proto';
import { runCli } from '../cli';
import { details } from '../testing/details';
import { jobLog } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

/* `archfarm logs -f` re-attaching after its StreamLogs stream is lost. */

const NATIVE = BuildMode.BUILD_MODE_NATIVE;
type LogsCall = ServerWritableStream<StreamLogsRequest, JobLog>;

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.builds.set('b8', details.build({ buildId: 'b8', platforms: [details.platform('linux/arm64')] }));
  return { fake, args: (...extra: string[]) => ['logs', '--coordinator', fake.address, ...extra] };
}

function fail(call: LogsCall, code: status, details: string, remoteCode?: string): void {
  const metadata = new Metadata();
  if (remoteCode) metadata.set('archfarm-code', remoteCode);
  call.emit('error', { code, details, metadata });
}

const arm = (text: string, offset: number, attempt = 1) => jobLog('linux/arm64', 'pi-1', NATIVE, text, attempt, offset);

test('-f: a dropped stream is re-attached from the bytes shown; overlapping bytes are not printed twice', async (t) => {
  const { fake, args } = await setup(t);
  fake.logs = (call, f) => {
    if (f.logRequests.length === 1) {
      call.write(arm('a1\na2\na', 0));
      setTimeout(() => fail(call, status.UNAVAILABLE, 'Connection dropped'), 50);
    } else if (f.logRequests.length === 2) {
      fail(call, status.UNAVAILABLE, 'build b8 is not resumed yet', 'BUILD_NOT_RESTORED');
    } else {
      call.write(arm('a2\na3\n', 3));
      call.write(arm('b1\n', 0, 2));
      call.end();
    }
  };
  const io = testIo('/');
  assert.equal(await runCli(args('-f', 'b8'), io), 0, io.stderr.text);
  assert.equal(io.stdout.text, 'a1\na2\na3\nb1\n');
  const resumed = { buildId: 'b8', platform: '', follow: true, logs: [{ platform: 'linux/arm64', attempt: 1, offset: 7 }] };
  assert.deepEqual(fake.logRequests, [{ buildId: 'b8', platform: '', follow: true, logs: [] }, resumed, resumed]);
  assert.deepEqual(io.stderr.lines, [
    'archfarm: lost the coordinator (connection dropped); re-attaching',
    'archfarm: re-attached',
    '--- linux/arm64 attempt 2 on pi-1 ---',
  ]);
});

test('-f: NOT_FOUND is not retried (exit 1); without -f a lost stream is an error at once (exit 3)', async (t) => {
  const { fake, args } = await setup(t);
  fake.logs = (call) => fail(call, status.NOT_FOUND, 'build b8 not found', 'BUILD_NOT_FOUND');
  const gone = testIo('/');
  assert.equal(await runCli(args('-f', 'b8'), gone), 1);
  assert.match(gone.stderr.text, /^error: the coordinator at \S+ has no build "b8"/);
  assert.equal(fake.logRequests.length, 1);

  fake.logs = (call) => {
    call.write(arm('a1\n', 0));
    fail(call, status.UNAVAILABLE, 'Connection dropped');
  };
  const once = testIo('/');
  assert.equal(await runCli(args('b8'), once), 3);
  assert.equal(once.stdout.text, 'a1\n');
  assert.match(once.stderr.text, /^error: cannot reach the coordinator/);
  assert.equal(fake.logRequests.length, 2);
});
