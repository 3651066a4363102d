import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode } from '@archfarm/proto';
import { runCli } from '../cli';
import { agentInfo } from '../testing/agents';
import { T0 } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { agentsTable } from './agents-table';

const NATIVE = BuildMode.BUILD_MODE_NATIVE;
const EMU = BuildMode.BUILD_MODE_EMULATED;
const MIN = 60_000;

const AGENTS = [
  agentInfo('x86-1', {
    engine: 'docker 20.10.24 (linux/amd64) at unix:///var/run/docker.sock',
    slots: 4,
    freeSlots: 3,
    running: 1,
    lastSeenMs: T0 - 2_000,
    platforms: [
      { platform: 'linux/amd64', mode: NATIVE },
      { platform: 'linux/arm64', mode: EMU },
    ],
  }),
  agentInfo('pi-1', {
    nodeVersion: 'v18.19.0',
    slots: 1,
    freeSlots: 0,
    running: 1,
    drained: true,
    lastSeenMs: T0 - 45_000,
    labels: { site: 'lab', rack: 'pi-shelf' },
    platforms: [
      { platform: 'linux/arm64', mode: NATIVE },
      { platform: 'linux/arm/v7', mode: NATIVE },
    ],
  }),
  agentInfo('old-pi', { version: '0.0.9', nodeVersion: '', connected: false, slots: 2, lastSeenMs: T0 - 3 * MIN, platforms: [{ platform: 'linux/arm/v6', mode: NATIVE }] }),
];

test('the table: status (drained wins over connected), native platforms starred, running/slots, labels, Node.js, last seen, engine', () => {
  assert.deepEqual(agentsTable(AGENTS, T0), [
    'NAME     STATUS         PLATFORMS                     SLOTS   LABELS                   VERSION   NODE       LAST SEEN   ENGINE',
    'x86-1    connected      linux/amd64*, linux/arm64     1/4     -                        0.1.0     v20.11.0   now         docker 20.10.24 (linux/amd64) at unix:///var/run/docker.sock',
    'pi-1     drained        linux/arm64*, linux/arm/v7*   1/1     rack=pi-shelf,site=lab   0.1.0     v18.19.0   45s ago     docker 24.0.7',
    'old-pi   disconnected   linux/arm/v6*                 0/2     -                        0.0.9     -          3m ago      docker 24.0.7',
  ]);
});

async function start(t: { after: (fn: () => unknown) => void }): Promise<FakeCoordinator> {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.agents = [...AGENTS];
  return fake;
}

test('archfarm agents: the connected ones sorted by name; --all adds the disconnected', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents'], io), 0, io.stderr.text);
  assert.deepEqual(io.stdout.lines.map((l) => l.split(/\s{2,}/).slice(0, 2)), [
    ['NAME', 'STATUS'],
    ['pi-1', 'drained'],
    ['x86-1', 'connected'],
  ]);
  const all = testIo('/');
  assert.equal(await runCli(['--coordinator', fake.address, 'agents', '--all'], all), 0, all.stderr.text);
  assert.deepEqual(all.stdout.lines.slice(1).map((l) => l.split(' ')[0]), ['old-pi', 'pi-1', 'x86-1']);
  assert.match(all.stdout.lines[1]!, /^old-pi +disconnected +linux\/arm\/v6\* +0\/2 /);
  assert.deepEqual(fake.agentRequests, [{ all: false }, { all: true }]);
});

test('archfarm agents --output json: the old keys unchanged, plus status, connected, drained, running, lastSeen, node', async (t) => {
  const fake = await start(t);
  const io = testIo('/');
  assert.equal(await runCli(['agents', '--output', 'json', '--all', '--coordinator', fake.address], io), 0, io.stderr.text);
  const parsed = JSON.parse(io.stdout.text) as { name: string }[];
  assert.deepEqual(parsed.map((a) => a.name), ['old-pi', 'pi-1', 'x86-1']);
  assert.deepEqual(parsed[1], {
    name: 'pi-1',
    version: '0.1.0',
    engine: 'docker 24.0.7',
    node: 'v18.19.0',
    slots: 1,
    freeSlots: 0,
    labels: { site: 'lab', rack: 'pi-shelf' },
    platforms: [
      { platform: 'linux/arm64', mode: 'native' },
      { platform: 'linux/arm/v7', mode: 'native' },
    ],
    status: 'drained',
    connected: true,
    drained: true,
    running: 1,
    lastSeen: '2025-05-01T09:59:15.000Z',
  });
  assert.deepEqual(parsed[0], { ...parsed[0], status: 'disconnected', connected: false, drained: false, running: 0, node: '' });
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
  const all = testIo('/');
  assert.equal(await runCli(['agents', '--all', '--coordinator', fake.address], all), 0);
  assert.equal(all.stderr.text, `the coordinator at ${fake.address} knows no agents\n`);
});

test('bad --output is exit 2 before connecting; so is an unknown subcommand', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['agents', '--coordinator', '127.0.0.1:1', '--output', 'yaml'], io), 2);
  assert.equal(io.stderr.text, 'error: --output: "yaml" is not one of text, json\n');
  const typo = testIo('/');
  assert.equal(await runCli(['agents', 'dran', 'pi-1', '--coordinator', '127.0.0.1:1'], typo), 2);
  assert.match(typo.stderr.text, /^error: unknown command 'agents dran'; use drain, resume, revoke or forget\n/);
});
