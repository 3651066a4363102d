import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/arm/v7': 'armv7l', 'linux/s390x': 's390x' };

interface IndexJson {
  mediaType: string;
  manifests: Array<{ digest: string; platform: { os: string; architecture: string; variant?: string } }>;
}

const platformOf = (p: IndexJson['manifests'][number]['platform']) =>
  [p.os, p.architecture, p.architecture === 'arm64' ? undefined : p.variant].filter(Boolean).join('/');

/**
 * The seed scenario, end to end: real coordinator and two real agents (processes), the real
 * Docker engine with BuildKit, QEMU for the foreign CPUs, the real registry, and skopeo as
 * an independent judge of what was published.
 */
describe('archfarm build: four CPUs, two agents, one manifest list', () => {
  let fleet: TestFleet;

  before(async () => {
    testRegistry();
    fleet = await TestFleet.start([
      { name: 'builder-a', platforms: 'linux/amd64,linux/arm64' },
      { name: 'builder-b', platforms: 'linux/arm/v7,linux/s390x' },
    ]);
  });

  after(async () => {
    await fleet?.stop();
  });

  test('archfarm agents lists both agents with how they build', async () => {
    const res = await fleet.cli(['agents', '--output', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const agents = JSON.parse(res.stdout) as Array<{ name: string; platforms: Array<{ platform: string; mode: string }> }>;
    const a = agents.find((x) => x.name === 'builder-a');
    const b = agents.find((x) => x.name === 'builder-b');
    assert.deepEqual(a?.platforms, [
      { platform: 'linux/amd64', mode: 'native' },
      { platform: 'linux/arm64', mode: 'emulated' },
    ]);
    assert.deepEqual(b?.platforms, [
      { platform: 'linux/arm/v7', mode: 'emulated' },
      { platform: 'linux/s390x', mode: 'emulated' },
    ]);
    const table = await fleet.cli(['agents']);
    assert.match(table.stdout, /builder-a.*linux\/amd64\*/);
  });

  test('publishes an index of exactly the four platforms; each child runs on its CPU', async () => {
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nCMD ["uname", "-m"]\n` });
    const tag = `${testRegistry()}/${uniqueRepository('seed')}:1`;
    const res = await fleet.cli(['build', '--platform', FOUR.join(','), '-t', tag, '--progress', 'plain', ctx]);
    assert.equal(res.code, 0, `build failed:\n${res.stderr}`);
    const printed = res.stdout.trim().split('\n').at(-1);
    assert.match(printed ?? '', /^sha256:[a-f0-9]{64}$/);
    assert.match(res.stderr, /\[linux\/s390x builder-b emulated\]/, 'plain progress prefixes platform, agent and mode');

    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, printed, 'the printed digest is the tag digest');
    const index = JSON.parse(raw.stdout) as IndexJson;
    // The platform images only: the attestation manifests (unknown/unknown, provenance) follow them.
    index.manifests = index.manifests.filter((m) => m.platform.architecture !== 'unknown');
    assert.deepEqual(index.manifests.map((m) => platformOf(m.platform)).sort(), [...FOUR].sort());

    const repo = tag.slice(0, tag.lastIndexOf(':'));
    for (const m of index.manifests) {
      const platform = platformOf(m.platform);
      const out = await run('docker', ['run', '--rm', '--platform', platform, `${repo}@${m.digest}`]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trim(), UNAME[platform], `${platform} image prints its CPU`);
    }
    const tags = await fetch(`http://${testRegistry()}/v2/${repo.slice(repo.indexOf('/') + 1)}/tags/list`).then((r) => r.json() as Promise<{ tags: string[] }>);
    assert.deepEqual(tags.tags, ['1'], 'no staging tags are left in the repository');
  });

  test('a cross build runs its build stage on the builder CPU and yields an arm64 image', async () => {
    const ctx = await makeContext({
      Dockerfile: [
        `FROM --platform=$BUILDPLATFORM ${baseImage()} AS build`,
        'ARG TARGETPLATFORM',
        'RUN echo "$(uname -m) for $TARGETPLATFORM" > /built-on',
        `FROM ${baseImage()} AS final`,
        'COPY --from=build /built-on /built-on',
        'CMD ["sh", "-c", "echo built-on=$(cat /built-on) runs-on=$(uname -m)"]',
        `FROM ${baseImage()} AS unused`,
        'RUN exit 1',
        '',
      ].join('\n'),
    });
    const tag = `${testRegistry()}/${uniqueRepository('cross')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/arm64', '-t', tag, '--target', 'final', '--output', 'json', ctx]);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { digest: string; tag: string; platforms: Array<{ platform: string; digest: string; agent: string; mode: string }> };
    assert.equal(out.tag, tag);
    assert.deepEqual(out.platforms.map((p) => [p.platform, p.agent, p.mode]), [['linux/arm64', 'builder-a', 'emulated']]);
    const config = JSON.parse((await skopeoInspect(`${tag.slice(0, tag.lastIndexOf(':'))}@${out.platforms[0]!.digest}`, '--config')).stdout) as { architecture: string };
    assert.equal(config.architecture, 'arm64');
    const ran = await run('docker', ['run', '--rm', '--platform', 'linux/arm64', `${tag.slice(0, tag.lastIndexOf(':'))}@${out.platforms[0]!.digest}`]);
    assert.equal(ran.stdout.trim(), 'built-on=x86_64 for linux/arm64 runs-on=aarch64');
  });

  test('a Dockerfile that fails only on s390x fails the build, names it, shows its output, writes no tag', async () => {
    const ctx = await makeContext({
      Dockerfile: `FROM ${baseImage()}\nRUN if [ "$(uname -m)" = s390x ]; then echo "no big-endian support here" >&2; exit 7; fi\n`,
    });
    const tag = `${testRegistry()}/${uniqueRepository('fails')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64,linux/s390x', '-t', tag, ctx]);
    assert.notEqual(res.code, 0);
    assert.equal(res.stdout, '', 'no digest is printed');
    assert.match(res.stderr, /linux\/s390x failed/);
    assert.match(res.stderr, /no big-endian support here/);
    assert.match(res.stderr, /exit code: 7/);
    const inspected = await skopeoInspect(tag);
    assert.notEqual(inspected.code, 0, 'the tag must not exist');
  });
});
