import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

interface PlannedJson {
  platform: string;
  agent: string | null;
  reason: string;
}

interface ProgressJson {
  type: string;
  platform?: string;
  state?: string;
  error?: { code: string; message: string };
}

interface FinishedJson {
  digest?: string;
  platforms?: Array<{ platform: string; digest: string; agent: string }>;
}

/**
 * `archfarm build --cross-check linux/arm64` with two agents on the host's one dockerd, both
 * emulating arm64 under QEMU. One engine is the hard case: the check job must not be served
 * the first build's layers from the shared build cache (it builds with --no-cache), or any
 * Dockerfile would pass. Engines of two versions were not needed for that, and the agent's
 * SOURCE_DATE_EPOCH rewrite is what makes two builds agree (reproducible.test.ts).
 */
let fleet: TestFleet;

before(async () => {
  testRegistry();
  fleet = await TestFleet.start([
    { name: 'cc-a', platforms: 'linux/arm64', labels: ['cc=a'] },
    { name: 'cc-b', platforms: 'linux/arm64', labels: ['cc=b'] },
  ]);
});

after(async () => {
  await fleet?.stop();
});

const DETERMINISTIC = [`FROM ${baseImage()}`, 'COPY app.txt /app/app.txt', 'RUN mkdir -p /out && uname -m > /out/arch', ''].join('\n');

test('--plan shows the check job on the other agent; with one agent it says a second is needed', async () => {
  const context = await makeContext({ Dockerfile: DETERMINISTIC, 'app.txt': 'same bytes\n' });
  const tag = `${testRegistry()}/${uniqueRepository('cross-check')}:plan`;
  const res = await fleet.cli(['build', '--platform', 'linux/arm64', '--cross-check', 'linux/arm64', '-t', tag, '--plan', '--output', 'json', context]);
  assert.equal(res.code, 0, res.stderr);
  const plan = JSON.parse(res.stdout) as PlannedJson[];
  assert.deepEqual(plan.map((p) => p.platform), ['linux/arm64', 'linux/arm64 (cross-check)']);
  assert.ok(plan[0]!.agent && plan[1]!.agent && plan[0]!.agent !== plan[1]!.agent, res.stdout);
  assert.match(plan[1]!.reason, new RegExp(`^cross-check \\(first build emulated on ${plan[0]!.agent}\\)`));

  const one = await fleet.cli(['build', '--platform', 'linux/arm64', '--cross-check', 'linux/arm64', '--require-label', 'cc=a', '-t', tag, '--plan', '--output', 'json', context]);
  assert.equal(one.code, 0, one.stderr);
  const lonely = (JSON.parse(one.stdout) as PlannedJson[])[1]!;
  assert.equal(lonely.agent, null);
  assert.match(lonely.reason, /it needs an agent other than cc-a: no connected agent that builds linux\/arm64 carries cc=a/);

  const foreign = await fleet.cli(['build', '--platform', 'linux/arm64', '--cross-check', 'linux/s390x', '-t', tag, context]);
  assert.equal(foreign.code, 2);
  assert.match(foreign.stderr, /--cross-check: linux\/s390x is not a platform of this build/);
});

test('a deterministic Dockerfile: both agents agree and the tag is published, built with SOURCE_DATE_EPOCH=0', async () => {
  const context = await makeContext({ Dockerfile: DETERMINISTIC, 'app.txt': 'same bytes\n' });
  const tag = `${testRegistry()}/${uniqueRepository('cross-check')}:same`;
  // No SOURCE_DATE_EPOCH from the environment: the coordinator fixes one.
  const res = await fleet.cli(['build', '--platform', 'linux/arm64', '--cross-check', 'linux/arm64', '-t', tag, '--output', 'json', '--progress', 'plain', context], { SOURCE_DATE_EPOCH: '' });
  assert.equal(res.code, 0, res.stderr);
  const json = JSON.parse(res.stdout) as FinishedJson;
  assert.deepEqual(json.platforms?.map((p) => p.platform), ['linux/arm64'], 'the check job is not among the published platforms');
  const agreed = fleet.coordinatorLines('cross-check agreed').find((l) => l.digest === json.platforms![0]!.digest);
  assert.ok(agreed, 'the coordinator compared the two builds');
  assert.deepEqual(new Set(agreed.agents as string[]), new Set(['cc-a', 'cc-b']));
  assert.match(res.stderr, /linux\/arm64 \(cross-check\)/, 'progress shows the check job');
  const index = await skopeoInspect(tag);
  assert.equal(index.code, 0, index.stderr);
  const config = await skopeoInspect(`${tag.replace(/:[^:]+$/, '')}@${json.platforms![0]!.digest}`, '--config');
  assert.equal((JSON.parse(config.stdout) as { created?: string }).created, '1970-01-01T00:00:00Z');
});

test('a Dockerfile that writes the date into a layer fails, naming the file, and publishes no tag', async () => {
  // A uuid after the date: the two builds run at once and could fall in the same second.
  const dockerfile = [`FROM ${baseImage()}`, 'COPY app.txt /app/app.txt', 'RUN date > /built-at && cat /proc/sys/kernel/random/uuid >> /built-at', ''].join('\n');
  const context = await makeContext({ Dockerfile: dockerfile, 'app.txt': 'same bytes\n' });
  const tag = `${testRegistry()}/${uniqueRepository('cross-check')}:differs`;
  const res = await fleet.cli(['build', '--platform', 'linux/arm64', '--cross-check', 'linux/arm64', '-t', tag, '--output', 'json', '--progress', 'json', context], { SOURCE_DATE_EPOCH: '' });
  assert.equal(res.code, 1, res.stderr);
  assert.equal(res.stdout, '', 'no result: nothing was published');
  const events = res.stderr.split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as ProgressJson] : []));
  const checked = events.find((e) => e.type === 'job' && e.platform === 'linux/arm64 (cross-check)' && e.state === 'succeeded');
  assert.ok(checked, 'the check job built');
  const finished = events.find((e) => e.type === 'finished');
  assert.equal(finished?.error?.code, 'CROSS_CHECK_MISMATCH', res.stderr);
  const message = finished.error.message;
  assert.match(message, /cross-check of linux\/arm64 failed, nothing was published/);
  assert.match(message, /cc-a \(emulated\) built sha256:[0-9a-f]{64}/);
  assert.match(message, /cc-b \(emulated\) built sha256:[0-9a-f]{64}/);
  assert.match(message, /layer 3 of 3 \(index 2\) differs \(sha256:[0-9a-f]{64} vs sha256:[0-9a-f]{64}\): \/built-at: content differs/);
  const published = await skopeoInspect(tag);
  assert.notEqual(published.code, 0, 'no tag was written');
});
