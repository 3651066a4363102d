import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { runCli } from '../cli';
import { T0, details } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { inspectLines } from './builds-inspect';

const MIN = 60_000;
const LOST = { code: 'AGENT_LOST', message: 'agent pi-1 went away', kind: 'infrastructure' };

/** Placed twice: pi-1 (native) was lost, then the emulating x86-1 took it under --emulation allow. */
const B9 = details.build({
  buildId: 'b9',
  state: BuildState.BUILD_STATE_RUNNING,
  emulation: 'allow',
  requireLabels: { site: 'lab', rack: 'a' },
  platforms: [
    details.platform('linux/arm64', {
      state: JobState.JOB_STATE_RUNNING,
      attempts: [
        details.attempt(1, { agent: 'pi-1', startedMs: T0, endedMs: T0 + MIN, outcome: 'lost', error: LOST, reason: 'native; built this repository last' }),
        details.attempt(2, { agent: 'x86-1', mode: BuildMode.BUILD_MODE_EMULATED, startedMs: T0 + 2 * MIN, reason: 'expected 3m emulated vs 11m on pi-2' }),
        details.attempt(3, { agent: 'x86-2', startedMs: T0 + 3 * MIN }),
      ],
    }),
  ],
});

test("builds inspect: the build's emulation and required labels, and why each attempt went where it did", () => {
  const lines = inspectLines(B9);
  assert.deepEqual(lines.slice(6, 8), ['emulation       allow', 'require-label   rack=a,site=lab']);
  assert.deepEqual(lines.slice(-3), [
    '  3         x86-2   native     2025-05-01T10:03:00Z   -                      running   -',
    '  attempt 1 on pi-1: native; built this repository last',
    '  attempt 2 on x86-1: expected 3m emulated vs 11m on pi-2',
  ]);
});

test('builds inspect --output json: emulation, requireLabels, and each attempt\'s reason (null when none)', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.builds.set('b9', B9);
  const io = testIo('/');
  assert.equal(await runCli(['builds', 'inspect', 'b9', '--output', 'json', '--coordinator', fake.address], io), 0, io.stderr.text);
  const json = JSON.parse(io.stdout.text) as { emulation: unknown; requireLabels: unknown; platforms: { attempts: { reason: unknown }[] }[] };
  assert.equal(json.emulation, 'allow');
  assert.deepEqual(json.requireLabels, { site: 'lab', rack: 'a' });
  assert.deepEqual(json.platforms[0]?.attempts.map((a) => a.reason), ['native; built this repository last', 'expected 3m emulated vs 11m on pi-2', null]);
});

test('a build submitted without placement options shows neither line', () => {
  const lines = inspectLines(details.build({ platforms: [details.platform('linux/amd64')] }));
  assert.ok(!lines.some((l) => /^(emulation|require-label) /.test(l)), lines.join('\n'));
});
