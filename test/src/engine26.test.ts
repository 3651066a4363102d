import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { TestFleet, type AgentSpec } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { requireDocker } from './support/docker';
import { DOCKER26_HOST, requireDocker26 } from './support/docker26';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/arm/v7': 'armv7l', 'linux/s390x': 's390x' };
const PROBED = [
  { platform: 'linux/amd64', mode: 'native' },
  { platform: 'linux/arm64', mode: 'emulated' },
  { platform: 'linux/arm/v7', mode: 'emulated' },
  { platform: 'linux/s390x', mode: 'emulated' },
];

/** Each agent has one engine only and a label naming it; builds pick one with --require-label. */
const D26: AgentSpec = { name: 'docker26-1', platforms: FOUR.join(','), labels: ['engine=docker26'], dockerHost: DOCKER26_HOST };
const D20: AgentSpec = { name: 'docker20-1', platforms: FOUR.join(','), labels: ['engine=docker20'] };

interface AgentJson {
  name: string;
  engine: string;
  platforms: Array<{ platform: string; mode: string }>;
}

interface BuildJson {
  digest: string;
  platforms: Array<{ platform: string; digest: string; agent: string; mode: string }>;
}

interface IndexJson {
  manifests: Array<{ digest: string; platform: { os: string; architecture: string; variant?: string } }>;
}

const platformOf = (p: IndexJson['manifests'][number]['platform']) =>
  [p.os, p.architecture, p.architecture === 'arm64' ? undefined : p.variant].filter(Boolean).join('/');

/**
 * The engine users install today: the seed's four-platform build on an agent whose only
 * engine is Debian 13's dockerd 26 with the containerd image store (scripts/docker26.sh),
 * and the same build on an agent of Debian 12's dockerd 20.10. The context reaches dockerd 26
 * through the agent's BuildKit session (a posted tar fails there, moby/moby#47717), and
 * its `docker save` is an OCI layout with gzip layers. skopeo judges what was published, the
 * host's dockerd runs each child under QEMU.
 */
describe('the seed build on dockerd 26 (containerd image store) and on dockerd 20.10', { timeout: 20 * 60_000 }, () => {
  let fleet: TestFleet;
  const contexts: string[] = [];

  before(async () => {
    testRegistry();
    await requireDocker();
    await requireDocker26();
    fleet = await TestFleet.start([]);
    const agents = await Promise.all([D26, D20].map((spec) => fleet.addAgent(spec)));
    const exited = agents.map(
      (agent, i) =>
        new Promise<never>((_, reject) =>
          agent.once('exit', (code) => reject(new Error(`${[D26, D20][i]!.name} exited (${code}):\n${fleet.logs.join('').slice(-4000)}`))),
        ),
    );
    await Promise.race([fleet.waitForAgents([D26.name, D20.name], 300_000), ...exited]);
  }, { timeout: 6 * 60_000 });

  after(async () => {
    await fleet?.stop();
    for (const dir of contexts) await rm(dir, { recursive: true, force: true });
  });

  test('archfarm agents shows what each engine builds and how, and names the engine', async () => {
    const res = await fleet.cli(['agents', '--output', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const agents = JSON.parse(res.stdout) as AgentJson[];
    const d26 = agents.find((a) => a.name === D26.name);
    const d20 = agents.find((a) => a.name === D20.name);
    assert.match(d26?.engine ?? '', /^docker 26\.1\.\d/, `engine: ${d26?.engine}`);
    assert.ok(d26?.engine.includes(DOCKER26_HOST), `the description names the socket: ${d26?.engine}`);
    assert.deepEqual(d26?.platforms, PROBED, `probe on dockerd 26; agent log:\n${agentLog(fleet, D26.name)}`);
    assert.match(d20?.engine ?? '', /^docker 20\.10\.\d/, `engine: ${d20?.engine}`);
    assert.deepEqual(d20?.platforms, PROBED, 'probe on dockerd 20.10');
  });

  for (const [spec, engine] of [[D26, 'docker26'], [D20, 'docker20']] as const) {
    test(`${engine}: publishes an index of the four platforms; each RUN step and each child ran on its CPU`, async () => {
      const ctx = await makeContext({
        Dockerfile: `FROM ${baseImage()}\nCOPY greeting /greeting\nRUN echo "$(cat /greeting) $(uname -m)" > /built-on\nCMD ["sh", "-c", "echo $(cat /built-on) runs-on=$(uname -m)"]\n`,
        greeting: `built-by-${engine}\n`,
      });
      contexts.push(ctx);
      const tag = `${testRegistry()}/${uniqueRepository(`seed-${engine}`)}:1`;
      const res = await fleet.cli(['build', '--platform', FOUR.join(','), '-t', tag, '--require-label', `engine=${engine}`, '--progress', 'plain', '--output', 'json', ctx]);
      assert.equal(res.code, 0, `build failed:\n${res.stderr}\nagent log:\n${agentLog(fleet, spec.name)}`);
      const out = JSON.parse(res.stdout) as BuildJson;
      assert.deepEqual(
        out.platforms.map((p) => [p.platform, p.agent, p.mode]).sort(),
        PROBED.map((p) => [p.platform, spec.name, p.mode]).sort(),
        'every job ran on the agent of that engine',
      );

      const raw = await skopeoInspect(tag);
      assert.equal(raw.code, 0, raw.stderr);
      assert.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, out.digest, 'the printed digest is the tag digest');
      const index = JSON.parse(raw.stdout) as IndexJson;
      // The platform images only: the attestation manifests (unknown/unknown, provenance) follow them.
      index.manifests = index.manifests.filter((m) => m.platform.architecture !== 'unknown');
      assert.deepEqual(index.manifests.map((m) => platformOf(m.platform)).sort(), [...FOUR].sort(), 'skopeo sees the four platforms');

      const repo = tag.slice(0, tag.lastIndexOf(':'));
      for (const m of index.manifests) {
        const platform = platformOf(m.platform);
        // The host's dockerd 20.10 pulls and runs what was published, whichever engine built it.
        const ran = await run('docker', ['run', '--rm', '--platform', platform, `${repo}@${m.digest}`], { env: { DOCKER_HOST: 'unix:///var/run/docker.sock' } });
        assert.equal(ran.code, 0, ran.stderr);
        assert.equal(ran.stdout.trim(), `built-by-${engine} ${UNAME[platform]} runs-on=${UNAME[platform]}`, `${platform}: its RUN step and its run on its CPU`);
        await run('docker', ['rmi', `${repo}@${m.digest}`], { env: { DOCKER_HOST: 'unix:///var/run/docker.sock' } });
      }
    });
  }
});

/** The agent's own log lines (the fleet keeps every process's stderr). */
function agentLog(fleet: TestFleet, name: string): string {
  return fleet.logs
    .filter((l) => l.startsWith(`[${name}] `))
    .join('')
    .slice(-4000);
}
