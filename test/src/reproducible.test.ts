import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];

interface BuildJson {
  digest: string;
  platforms: Array<{ platform: string; digest: string; agent: string }>;
}

/**
 * SOURCE_DATE_EPOCH as buildx users set it: the same context built on two different agents
 * (of the same engine kind, Debian's dockerd 20.10) gives the same image for every platform,
 * though its RUN steps ran at other times and the second build used no cache.
 */
let fleet: TestFleet;

before(async () => {
  testRegistry();
  fleet = await TestFleet.start([
    { name: 'repro-a', platforms: FOUR.join(','), labels: ['repro=a'] },
    { name: 'repro-b', platforms: FOUR.join(','), labels: ['repro=b'] },
  ]);
});

after(async () => {
  await fleet?.stop();
});

test('SOURCE_DATE_EPOCH=0: two agents give the same four child digests', async () => {
  const context = await makeContext({
    Dockerfile: [`FROM ${baseImage()}`, 'COPY app.txt /app/app.txt', 'RUN mkdir -p /out && uname -m > /out/arch && touch /out/stamp', 'LABEL org.example.kind=repro', ''].join('\n'),
    'app.txt': 'same bytes everywhere\n',
  });
  const built: BuildJson[] = [];
  for (const [agent, extra] of [['a', []], ['b', ['--no-cache']]] as const) {
    const tag = `${testRegistry()}/${uniqueRepository('repro')}:${agent}`;
    const res = await fleet.cli(['build', '--platform', FOUR.join(','), '-t', tag, '--require-label', `repro=${agent}`, ...extra, '--output', 'json', context], { SOURCE_DATE_EPOCH: '0' });
    assert.equal(res.code, 0, res.stderr);
    const json = JSON.parse(res.stdout) as BuildJson;
    assert.deepEqual(new Set(json.platforms.map((p) => p.agent)), new Set([`repro-${agent}`]));
    built.push(json);
    const config = await skopeoInspect(`${tag.replace(/:[^:]+$/, '')}@${json.platforms[0]!.digest}`, '--config');
    assert.equal(config.code, 0, config.stderr);
    const parsed = JSON.parse(config.stdout) as { created?: string; history?: Array<{ created?: string }>; config?: { Labels?: Record<string, string> } };
    assert.equal(parsed.created, '1970-01-01T00:00:00Z');
    assert.ok(parsed.history?.every((h) => h.created === undefined || h.created === '1970-01-01T00:00:00Z'), JSON.stringify(parsed.history));
    assert.deepEqual(parsed.config?.Labels, { 'org.example.kind': 'repro' }, 'only the Dockerfile\'s label, nothing of the farm');
  }
  const byPlatform = (b: BuildJson) => Object.fromEntries(b.platforms.map((p) => [p.platform, p.digest]));
  assert.equal(Object.keys(byPlatform(built[0]!)).length, 4);
  assert.deepEqual(byPlatform(built[1]!), byPlatform(built[0]!));

  // Without it, the RUN step's times make the image another one: the clamp is what made them equal.
  const tag = `${testRegistry()}/${uniqueRepository('repro')}:no-epoch`;
  const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, '--require-label', 'repro=b', '--no-cache', '--output', 'json', context], { SOURCE_DATE_EPOCH: '' });
  assert.equal(res.code, 0, res.stderr);
  assert.notEqual((JSON.parse(res.stdout) as BuildJson).platforms[0]!.digest, byPlatform(built[0]!)['linux/amd64']);
});
