import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BuildState } from '@archfarm/proto';
import { runCli } from '../cli';
import { T0, details } from '../testing/details';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { BUILD_STATE_CHOICES, buildsTable, listNarrowing } from './builds-list';

test('--status takes the states the JSON shows; --since a duration with units; --limit a count', () => {
  assert.deepEqual(BUILD_STATE_CHOICES, ['running', 'publishing', 'published', 'failed', 'cancelled']);
  assert.deepEqual(listNarrowing({}), { limit: 20, states: [], createdWithinMs: 0 });
  assert.deepEqual(listNarrowing({ status: 'failed,Cancelled', since: '2h', limit: '100' }), {
    limit: 100,
    states: [BuildState.BUILD_STATE_FAILED, BuildState.BUILD_STATE_CANCELLED],
    createdWithinMs: 2 * 3_600_000,
  });
  assert.equal(listNarrowing({ since: '7d' }).createdWithinMs, 7 * 86_400_000);
  assert.equal(listNarrowing({ since: '30m' }).createdWithinMs, 30 * 60_000);
});

test('bad --status, --since and --limit exit 2 naming the flag (and the allowed states) before connecting', async () => {
  const cases: [string[], RegExp][] = [
    [['--status', 'done'], /^error: --status: "done" is not one of running, publishing, published, failed, cancelled\n$/],
    [['--status', ','], /^error: --status: give one of running, publishing, published, failed, cancelled\n$/],
    [['--since', '2'], /^error: --since: "2" has no unit; write it with one, e.g. .*30s/],
    [['--since', '0s'], /^error: --since: "0s" is not a duration above 0/],
    [['--limit', '0'], /^error: --limit: "0" is not a whole number/],
    [['--limit', 'ten'], /^error: --limit: "ten" is not a whole number/],
  ];
  for (const [flags, message] of cases) {
    const io = testIo('/');
    assert.equal(await runCli(['builds', ...flags, '--coordinator', '127.0.0.1:1'], io), 2, flags.join(' '));
    assert.match(io.stderr.text, message);
  }
});

test('builds --status --since --limit are sent to the coordinator (which filters), not applied here', async (t) => {
  const f = await FakeCoordinator.start();
  t.after(() => f.stop());
  f.builds.set('b1', details.build({ buildId: 'b1', createdMs: T0 }));
  const io = testIo('/');
  assert.equal(await runCli(['builds', '--status', 'failed', '--since', '90m', '--limit', '3', '--output', 'json', '--coordinator', f.address], io), 0, io.stderr.text);
  assert.deepEqual(f.listRequests, [{ limit: 3, schedule: '', states: [BuildState.BUILD_STATE_FAILED], createdWithinMs: 90 * 60_000 }]);
  // Whatever the coordinator answers is shown: the CLI does not filter again.
  assert.deepEqual((JSON.parse(io.stdout.text) as { buildId: string }[]).map((b) => b.buildId), ['b1']);
  f.builds.clear();
  const none = testIo('/');
  assert.equal(await runCli(['builds', '--status', 'failed', '--coordinator', f.address], none), 0);
  assert.equal(none.stderr.text, `no matching builds on the coordinator at ${f.address}\n`);
});

test('archfarm builds on a terminal fits its width; piped, every cell is whole', async (t) => {
  const f = await FakeCoordinator.start();
  t.after(() => f.stop());
  const tag = `127.0.0.1:5000/${'long-repository-name-'.repeat(4)}app:1`;
  f.builds.set('b1', details.build({ buildId: 'b1', tag, createdMs: T0, platforms: [details.platform('linux/amd64')] }));
  const tty = testIo('/');
  Object.assign(tty.stdout, { isTTY: true, columns: 80 });
  assert.equal(await runCli(['builds', '--coordinator', f.address], tty), 0, tty.stderr.text);
  assert.equal(Math.max(...tty.stdout.lines.map((l) => l.length)), 80);
  assert.ok(tty.stdout.lines[1]!.includes('…'));
  const pipe = testIo('/');
  assert.equal(await runCli(['builds', '--coordinator', f.address], pipe), 0);
  assert.ok(pipe.stdout.lines[1]!.includes(tag));
});

test('the builds table cuts the tag and platforms to a terminal width, and only then', () => {
  const long = details.build({ buildId: 'b9', tag: `127.0.0.1:5000/${'x'.repeat(60)}:1`, createdMs: T0, platforms: [details.platform('linux/amd64')] });
  const full = buildsTable([long]);
  assert.ok(full[1]!.includes('x'.repeat(60)));
  const fitted = buildsTable([long], 72);
  assert.equal(Math.max(...fitted.map((l) => l.length)), 72);
  assert.equal(fitted[1], 'b9   127.0.0.1:…   running   linux/amd64   2025-05-01T10:00:00Z   -');
  assert.deepEqual(buildsTable([long], 200), full);
});
