import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { startPodmanService, type PodmanService } from './support/podman';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const PLATFORMS = ['linux/amd64', 'linux/arm64'];
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64' };
const AGENT = 'podman-1';

interface BuildJson {
  digest: string;
  tag: string;
  platforms: Array<{ platform: string; digest: string; agent: string; mode: string }>;
}

interface IndexJson {
  manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
}

interface AgentJson {
  name: string;
  engine: string;
  platforms: Array<{ platform: string; mode: string }>;
}

/**
 * The second engine: an agent whose only engine is Debian's podman, serving its
 * Docker-compatible API (`podman system service`) on a socket of its own. The agent probes
 * it, builds a native and a QEMU-emulated platform job through it, smoke-runs each image
 * in a podman container, and the coordinator publishes the index; skopeo and the Docker
 * engine judge the result independently.
 */
describe('an agent on Podman', { timeout: 15 * 60_000 }, () => {
  let podman: PodmanService;
  let fleet: TestFleet;
  const contexts: string[] = [];

  before(async () => {
    testRegistry();
    podman = await startPodmanService();
    fleet = await TestFleet.start([]);
    const agent = await fleet.addAgent({ name: AGENT, platforms: PLATFORMS.join(',') }, ['--docker-host', podman.dockerHost]);
    const exited = new Promise<never>((_, reject) =>
      agent.once('exit', (code) => reject(new Error(`${AGENT} exited (${code}):\n${fleet.logs.join('').slice(-3000)}\npodman:\n${podman.log().slice(-2000)}`))),
    );
    await Promise.race([fleet.waitForAgents([AGENT], 300_000), exited]);
  }, { timeout: 6 * 60_000 });

  after(async () => {
    await fleet?.stop();
    await podman?.stop();
    for (const dir of contexts) await rm(dir, { recursive: true, force: true });
  });

  test('archfarm agents shows the engine as podman, with what it probed', async () => {
    const res = await fleet.cli(['agents', '--output', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const agent = (JSON.parse(res.stdout) as AgentJson[]).find((a) => a.name === AGENT);
    assert.match(agent?.engine ?? '', /^podman \d+\.\d+/, `engine: ${agent?.engine}`);
    assert.ok(agent?.engine.includes(podman.dockerHost), 'the description names the socket');
    assert.deepEqual(agent?.platforms, [
      { platform: 'linux/amd64', mode: 'native' },
      { platform: 'linux/arm64', mode: 'emulated' },
    ]);
  });

  test('builds amd64 natively and arm64 under QEMU through podman; the index is published', async () => {
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo "step-ran-on-$(uname -m)" | tee /built-on\nCMD ["uname", "-m"]\n` });
    contexts.push(ctx);
    const tag = `${testRegistry()}/${uniqueRepository('podman')}:1`;
    const res = await fleet.cli(['build', '--platform', PLATFORMS.join(','), '-t', tag, '--smoke', 'cat /built-on', '--progress', 'plain', '--output', 'json', ctx]);
    assert.equal(res.code, 0, `build failed:\n${res.stderr}\nagent and podman logs:\n${fleet.logs.join('').slice(-4000)}\n${podman.log().slice(-2000)}`);
    const out = JSON.parse(res.stdout) as BuildJson;
    assert.deepEqual(
      out.platforms.map((p) => [p.platform, p.agent, p.mode]).sort(),
      [['linux/amd64', AGENT, 'native'], ['linux/arm64', AGENT, 'emulated']],
    );
    // Podman's progress ({"stream": ...} lines) reaches the build log, as does the smoke run's output.
    assert.match(res.stderr, /step-ran-on-aarch64/);
    assert.match(res.stderr, /smoke: step-ran-on-x86_64/);

    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, out.digest, 'the printed digest is the tag digest');
    const index = JSON.parse(raw.stdout) as IndexJson;
    // The platform images only: the attestation manifests (unknown/unknown, provenance) follow them.
    index.manifests = index.manifests.filter((m) => m.platform.architecture !== 'unknown');
    assert.deepEqual(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort(), PLATFORMS);

    const repo = tag.slice(0, tag.lastIndexOf(':'));
    for (const m of index.manifests) {
      const platform = `${m.platform.os}/${m.platform.architecture}`;
      const config = await skopeoInspect(`${repo}@${m.digest}`, '--config');
      assert.equal(config.code, 0, config.stderr);
      const parsed = JSON.parse(config.stdout) as { os: string; architecture: string };
      assert.equal(`${parsed.os}/${parsed.architecture}`, platform, 'the child config says its platform');
      // The Docker engine, not podman, pulls and runs what was published.
      const ran = await run('docker', ['run', '--rm', '--platform', platform, `${repo}@${m.digest}`]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout.trim(), UNAME[platform], `${platform} image prints its CPU`);
    }
    const tags = await fetch(`http://${testRegistry()}/v2/${repo.slice(repo.indexOf('/') + 1)}/tags/list`).then((r) => r.json() as Promise<{ tags: string[] }>);
    assert.deepEqual(tags.tags, ['1'], 'no staging tags are left in the repository');
  });

  test('--secret is refused on podman, naming the secret and what to do, and nothing is published', async () => {
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n` });
    contexts.push(ctx);
    const tag = `${testRegistry()}/${uniqueRepository('podman-secret')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, '--secret', 'id=tok,env=ARCHFARM_TEST_TOK', ctx], { ARCHFARM_TEST_TOK: 'not-for-podman' });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /ENGINE_SECRETS_UNSUPPORTED|cannot take --secret \(tok\)/);
    assert.match(res.stderr, /dockerd/);
    assert.equal((await skopeoInspect(tag)).code === 0, false, 'no tag was written');
  });

  test('the agent leaves no job images or containers in podman', async () => {
    // Job images are named localhost/archfarm-job/<agent>/... (a label would be published in the image).
    const images = await podman.api('GET', '/v1.41/images/json?all=true');
    assert.equal(images.status, 200, images.text);
    const left = (JSON.parse(images.text) as Array<{ RepoTags: string[] | null }>).flatMap((i) => i.RepoTags ?? []).filter((t) => t.includes('archfarm-job/'));
    assert.deepEqual(left, []);
    const filters = encodeURIComponent(JSON.stringify({ label: ['io.archfarm.agent'] }));
    const containers = await podman.api('GET', `/v1.41/containers/json?all=true&filters=${filters}`);
    assert.equal(containers.status, 200, containers.text);
    assert.deepEqual(JSON.parse(containers.text), []);
  });
});
