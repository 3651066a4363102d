import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../cli';
import { details } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { BuildState } from '@archfarm/proto';

test('archfarm cancel ID: CancelBuild, a note on stderr, nothing on stdout, exit 0', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.builds.set('b7', details.build({ buildId: 'b7' }));
  const io = testIo('/');
  assert.equal(await runCli(['cancel', 'b7', '--coordinator', fake.address], io), 0, io.stderr.text);
  assert.deepEqual(fake.cancelled, ['b7']);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, 'cancelled b7\n');
});

test('a cancel that came too late: the build was published, exit 6, never called cancelled', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.builds.set('b8', details.build({ buildId: 'b8' }));
  fake.cancelAnswer = BuildState.BUILD_STATE_PUBLISHED;
  const io = testIo('/');
  assert.equal(await runCli(['cancel', 'b8', '--coordinator', fake.address], io), 6, io.stderr.text);
  assert.equal(io.stdout.text, '');
  assert.doesNotMatch(io.stderr.text, /^cancelled/m);
  assert.match(io.stderr.text, /already published/);
  fake.cancelAnswer = BuildState.BUILD_STATE_FAILED;
  const again = testIo('/');
  assert.equal(await runCli(['cancel', 'b8', '--coordinator', fake.address], again), 0);
  assert.equal(again.stderr.text, 'build b8 had already failed; nothing to cancel\n');
});

test('cancelling an unknown build is exit 1 with a clear message', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['cancel', 'b99'], io), 1);
  assert.deepEqual(fake.cancelled, []);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, `error: the coordinator at ${fake.address} has no build "b99"; \`archfarm builds\` lists the recent ones\n`);
});

test('cancel without an id is a usage error, exit 2', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['cancel', '--coordinator', '127.0.0.1:1'], io), 2);
  assert.match(io.stderr.text, /missing required argument 'ID'/);
});
