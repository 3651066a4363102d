import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, type AgentInfo } from '@archfarm/proto';
import { runCli } from '../cli';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { agentsTable } from './agents';

const AGENTS: AgentInfo[] = [
  {
    name: 'x86-1',
    version: '0.1.0',
    engine: 'docker 20.10.24',
    slots: 4,
    freeSlots: 3,
    connectedAtMs: 1,
    labels: {},
    platforms: [
      { platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_NATIVE },
      { platform: 'linux/arm64', mode: BuildMode.BUILD_MODE_EMULATED },
    ],
  },
  {
    name: 'pi-1',
    version: '0.1.0',
    engine: 'docker 24.0.7',
    slots: 1,
    freeSlots: 0,
    connectedAtMs: 2,
    labels: { site: 'lab' },
    platforms: [{ platform: 'linux/arm64', mode: BuildMode.BUILD_MODE_NATIVE }],
  },
];

test('the table lists each agent, its platforms and how, and its free slots', () => {
  assert.deepEqual(agentsTable(AGENTS), [
    'NAME    PLATFORMS                                      SLOTS   ENGINE            VERSION',
    'x86-1   linux/amd64 (native), linux/arm64 (emulated)   3/4     docker 20.10.24   0.1.0',
    'pi-1    linux/arm64 (native)                           0/1     docker 24.0.7     0.1.0',
  ]);
});

test('archfarm agents: a table sorted by name, or JSON with --output json', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.agents = AGENTS;
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents'], io), 0, io.stderr.text);
  assert.deepEqual(io.stdout.lines.map((l) => l.split(/\s{2,}/)[0]), ['NAME', 'pi-1', 'x86-1']);

  const json = testIo('/');
  assert.equal(await runCli(['agents', '--coordinator', fake.address, '--output', 'json'], json), 0);
  const parsed = JSON.parse(json.stdout.text) as { name: string; platforms: unknown[] }[];
  assert.deepEqual(parsed.map((a) => a.name), ['pi-1', 'x86-1']);
  assert.deepEqual(parsed[1]!.platforms, [
    { platform: 'linux/amd64', mode: 'native' },
    { platform: 'linux/arm64', mode: 'emulated' },
  ]);
});

test('no agents: an empty JSON array, or a note on stderr', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const json = testIo('/');
  assert.equal(await runCli(['--coordinator', fake.address, 'agents', '--output', 'json'], json), 0);
  assert.deepEqual(JSON.parse(json.stdout.text), []);
  const text = testIo('/');
  assert.equal(await runCli(['agents', '--coordinator', fake.address], text), 0);
  assert.equal(text.stdout.text, '');
  assert.equal(text.stderr.text, `no agents are connected to the coordinator at ${fake.address}\n`);
});

test('bad --output is exit 2 before connecting', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['agents', '--coordinator', '127.0.0.1:1', '--output', 'yaml'], io), 2);
  assert.equal(io.stderr.text, 'error: --output: "yaml" is not one of text, json\n');
});
