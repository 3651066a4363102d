import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { BuildMode } from '@archfarm/proto';
import { runCli } from '../cli';
import { details } from '../testing/details';
import { jobLog } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

const NATIVE = BuildMode.BUILD_MODE_NATIVE;
/** A log as an agent writes it: CRLF, a multi-byte character cut by the chunking, no final newline. */
const ARM_LOG = Buffer.from('#1 [internal] load\r\n#2 RUN echo naïve → ok\nnaïve → ok\n#3 DONE 0.4s');

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.builds.set('b7', details.build({ buildId: 'b7', platforms: [details.platform('linux/arm64'), details.platform('linux/s390x')] }));
  fake.builds.set('b8', details.build({ buildId: 'b8', platforms: [details.platform('linux/arm64')] }));
  fake.logs = (call) => {
    const arm = call.request.platform !== 'linux/s390x';
    const s390x = call.request.buildId === 'b7' && call.request.platform !== 'linux/arm64';
    // Cut inside "ï" and inside a line, as the agent's upload chunks do.
    if (arm) call.write(jobLog('linux/arm64', 'pi-1', NATIVE, ARM_LOG.subarray(0, 35)));
    if (s390x) call.write(jobLog('linux/s390x', 'x86-1', NATIVE, 's390x 1\ns390x'));
    if (arm) call.write(jobLog('linux/arm64', 'pi-1', NATIVE, ARM_LOG.subarray(35), 1, 35));
    if (s390x) call.write(jobLog('linux/s390x', 'x86-1', NATIVE, ' 2\n', 1, 13));
    call.end();
  };
  return { fake, args: (...extra: string[]) => ['logs', '--coordinator', fake.address, ...extra] };
}

test("--platform: that platform's log byte for byte on stdout, nothing else", async (t) => {
  const { fake, args } = await setup(t);
  const io = testIo('/');
  assert.equal(await runCli(args('b7', '--platform', 'linux/aarch64'), io), 0, io.stderr.text);
  assert.ok(io.stdout.bytes.equals(ARM_LOG), io.stdout.text);
  assert.equal(io.stderr.text, '');
  assert.deepEqual(fake.logRequests, [{ buildId: 'b7', platform: 'linux/arm64', follow: false, logs: [] }]);
});

test('a single-platform build is raw without --platform; several platforms are prefixed per line', async (t) => {
  const { args } = await setup(t);
  const one = testIo('/');
  assert.equal(await runCli(args('b8'), one), 0, one.stderr.text);
  assert.ok(one.stdout.bytes.equals(ARM_LOG));

  const all = testIo('/');
  assert.equal(await runCli(args('b7'), all), 0, all.stderr.text);
  assert.deepEqual(all.stdout.text.split('\n'), [
    '[linux/arm64] #1 [internal] load\r',
    '[linux/s390x] s390x 1',
    '[linux/arm64] #2 RUN echo naïve → ok',
    '[linux/arm64] naïve → ok',
    '[linux/s390x] s390x 2',
    '[linux/arm64] #3 DONE 0.4s',
    '',
  ]);
});

test('-f asks the coordinator to follow; Ctrl-C stops following and exits 130', async (t) => {
  const { fake, args } = await setup(t);
  let cancelled = false;
  fake.logs = (call) => {
    call.on('cancelled', () => (cancelled = true));
    call.write(jobLog('linux/arm64', 'pi-1', NATIVE, 'still building\n'));
  };
  const io = testIo('/');
  const run = runCli(args('-f', 'b8'), io);
  while (io.stdout.text === '') await sleep(5);
  io.signals.emit('SIGINT');
  assert.equal(await run, 130);
  assert.equal(io.stdout.text, 'still building\n');
  assert.equal(io.stderr.text, 'error: interrupted (SIGINT)\n');
  assert.deepEqual(fake.logRequests, [{ buildId: 'b8', platform: '', follow: true, logs: [] }]);
  while (!cancelled) await sleep(5);
  assert.equal(io.signals.listenerCount('SIGINT'), 0, 'handlers removed');
});

test('bad input: a malformed platform or one the build lacks is exit 2, naming --platform', async (t) => {
  const { fake, args } = await setup(t);
  const malformed = testIo('/');
  assert.equal(await runCli(['logs', 'b7', '--coordinator', '127.0.0.1:1', '--platform', 'linux/arm/v9'], malformed), 2);
  assert.match(malformed.stderr.text, /^error: --platform: unknown variant "v9"/);
  const absent = testIo('/');
  assert.equal(await runCli(args('b7', '--platform', 'linux/ppc64le'), absent), 2);
  assert.equal(absent.stderr.text, 'error: --platform: build b7 has no platform linux/ppc64le; it builds linux/arm64, linux/s390x\n');
  assert.deepEqual(fake.logRequests, []);
});

test('an unknown build is exit 1; a stream that breaks is an error after what it delivered', async (t) => {
  const { fake, args } = await setup(t);
  const unknown = testIo('/');
  assert.equal(await runCli(args('nope'), unknown), 1);
  assert.match(unknown.stderr.text, /has no build "nope"/);

  fake.logs = (call) => {
    call.write(jobLog('linux/arm64', 'pi-1', NATIVE, 'partial line'));
    call.emit('error', { code: status.INTERNAL, details: 'log store is unreadable' });
  };
  const broken = testIo('/');
  assert.equal(await runCli(args('b7'), broken), 1);
  assert.equal(broken.stdout.text, '[linux/arm64] partial line\n');
  assert.equal(broken.stderr.text, 'error: log store is unreadable\n');
});
