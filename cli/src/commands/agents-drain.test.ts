import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../cli';
import { agentInfo } from '../testing/agents';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

async function start(t: { after: (fn: () => unknown) => void }): Promise<FakeCoordinator> {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.agents = [agentInfo('pi-1', { slots: 2, running: 2 }), agentInfo('pi-2', { running: 1 })];
  return fake;
}

test('agents drain NAME: DrainAgent, a note on stderr with the running jobs, empty stdout', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents', 'drain', 'pi-1'], io), 0, io.stderr.text);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, 'drained pi-1 (2 running jobs will finish)\n');
  assert.equal(fake.agents[0]?.drained, true);

  const one = testIo('/');
  assert.equal(await runCli(['--coordinator', fake.address, 'agents', 'drain', 'pi-2'], one), 0, one.stderr.text);
  assert.equal(one.stderr.text, 'drained pi-2 (1 running job will finish)\n');

  // The list shows it; then resume.
  const list = testIo('/');
  assert.equal(await runCli(['agents', '--coordinator', fake.address], list), 0);
  assert.match(list.stdout.lines[1]!, /^pi-1 +drained /);
  const resumed = testIo('/');
  assert.equal(await runCli(['agents', 'resume', 'pi-1', '--coordinator', fake.address], resumed), 0, resumed.stderr.text);
  assert.equal(resumed.stderr.text, 'resumed pi-1\n');
  assert.equal(resumed.stdout.text, '');
  assert.equal(fake.agents[0]?.drained, false);
  assert.deepEqual(fake.fleetCalls, ['drain pi-1', 'drain pi-2', 'resume pi-1']);
});

test('an unknown agent is a clear error, exit 1; a blank name is exit 2 before connecting', async (t) => {
  const fake = await start(t);
  for (const verb of ['drain', 'resume']) {
    const io = testIo('/');
    assert.equal(await runCli(['agents', verb, 'nope', '--coordinator', fake.address], io), 1);
    assert.equal(io.stdout.text, '');
    assert.equal(io.stderr.text, `error: the coordinator at ${fake.address} has no agent "nope"; \`archfarm agents --all\` lists them\n`);
  }
  const blank = testIo('/');
  assert.equal(await runCli(['agents', 'drain', ' ', '--coordinator', '127.0.0.1:1'], blank), 2);
  assert.match(blank.stderr.text, /^error: NAME: " " is not an agent name/);
  const missing = testIo('/');
  assert.equal(await runCli(['agents', 'drain', '--coordinator', '127.0.0.1:1'], missing), 2);
  assert.match(missing.stderr.text, /^error: missing required argument 'NAME'/);
});

test('an unreachable coordinator is exit 3', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['agents', 'resume', 'pi-1', '--coordinator', '127.0.0.1:1'], io), 3);
  assert.match(io.stderr.text, /^error: cannot reach the coordinator at 127.0.0.1:1/);
});
