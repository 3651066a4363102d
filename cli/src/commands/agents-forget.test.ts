import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../cli';
import { ExitCode } from '../exit-codes';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

test('agents forget NAME: ForgetAgent, a note on stderr, empty stdout; unknown is exit 1, blank exit 2', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents', 'forget', 'pi-1'], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.forgotten, ['pi-1']);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, 'forgot pi-1; the name is free to enrol\n');
  const unknown = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents', 'forget', 'nope'], unknown), 1);
  assert.match(unknown.stderr.text, /nope/);
  const blank = testIo('/');
  assert.equal(await runCli(['agents', 'forget', ' ', '--coordinator', '127.0.0.1:1'], blank), ExitCode.badInput);
});

test('agents forget --help says what it frees and why names are kept', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['agents', 'forget', '--help'], io), 0);
  assert.match(io.stdout.text, /a second enrolment of\s+the name is refused/);
});
