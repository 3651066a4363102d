import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { agentImageContext, coordinatorImageContext, type ImageContext } from './support/image-context';
import { ROOT, run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
/** What each platform's image config must say (arm64's variant is optional: v8 is implied). */
const CONFIG: Record<string, { architecture: string; variant?: string }> = {
  'linux/amd64': { architecture: 'amd64' },
  'linux/arm64': { architecture: 'arm64' },
  'linux/arm/v7': { architecture: 'arm', variant: 'v7' },
  'linux/s390x': { architecture: 's390x' },
};
const LABEL = ['--label', 'io.archfarm.test=self-build'];

const versionOf = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as { version: string }).version;
/** scripts/node-base.sh's stand-in for node:20-bookworm-slim (no Docker Hub here). */
const nodeImage = () => `${testRegistry()}/archfarm/node:20`;

interface Descriptor {
  digest: string;
  platform: { os: string; architecture: string; variant?: string };
}
interface ImageConfig {
  os: string;
  architecture: string;
  variant?: string;
  config: { User?: string; Entrypoint?: string[]; Volumes?: Record<string, unknown>; Labels?: Record<string, string> };
}

const platformOf = (p: { os: string; architecture: string; variant?: string }) =>
  [p.os, p.architecture, p.architecture === 'arm64' ? undefined : p.variant].filter(Boolean).join('/');

/**
 * archfarm builds its own images: the coordinator and agents (real processes, the real
 * engine, QEMU, the registry) build deploy/images/*.Dockerfile through `archfarm build`,
 * skopeo judges what was published, and every child runs on its CPU.
 */
describe('self-build: archfarm builds its own container images', () => {
  let fleet: TestFleet;

  before(async () => {
    testRegistry();
    // Pushes the Node.js base stand-in if missing (cached by recipe: normally a quick check).
    const base = await run('bash', [join(ROOT, 'scripts/node-base.sh')]);
    assert.equal(base.code, 0, `scripts/node-base.sh failed:\n${base.stderr}`);
    fleet = await TestFleet.start([
      { name: 'self-a', platforms: 'linux/amd64,linux/arm64' },
      { name: 'self-b', platforms: 'linux/arm/v7,linux/s390x' },
    ]);
  });

  after(async () => {
    await fleet?.stop();
  });

  async function archfarmBuild(ctx: ImageContext, platforms: string[], tag: string, args: string[] = []): Promise<Descriptor[]> {
    const res = await fleet.cli(['build', '--platform', platforms.join(','), '-t', tag, '-f', ctx.dockerfile, '--build-arg', `NODE_IMAGE=${nodeImage()}`, ...args, '--progress', 'plain', ctx.dir]);
    assert.equal(res.code, 0, `archfarm build failed:\n${res.stderr.slice(-6000)}`);
    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    // The platform images only: the attestation manifests (unknown/unknown, provenance) follow them.
    return (JSON.parse(raw.stdout) as { manifests: Descriptor[] }).manifests.filter((m) => m.platform?.architecture !== 'unknown');
  }

  /** Checks the child's config (through skopeo) names the platform the index claims. */
  async function configOf(repo: string, m: Descriptor): Promise<ImageConfig> {
    const res = await skopeoInspect(`${repo}@${m.digest}`, '--config');
    assert.equal(res.code, 0, res.stderr);
    const config = JSON.parse(res.stdout) as ImageConfig;
    const want = CONFIG[platformOf(m.platform)];
    assert.ok(want, `unexpected platform ${platformOf(m.platform)}`);
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, want.architecture);
    if (want.variant) assert.equal(config.variant, want.variant);
    if (want.architecture === 'arm64') assert.ok(config.variant === undefined || config.variant === 'v8', `arm64 variant ${config.variant}`);
    return config;
  }

  test('the agent image: a four-platform index; each child runs archfarm-agent --version on its CPU', async (t) => {
    const tag = `${testRegistry()}/${uniqueRepository('agent-image')}:1`;
    const repo = tag.slice(0, tag.lastIndexOf(':'));
    const manifests = await archfarmBuild(await agentImageContext(), FOUR, tag);
    assert.deepEqual(manifests.map((m) => platformOf(m.platform)).sort(), [...FOUR].sort());

    const version = versionOf('agent');
    t.after(() => removeImages(manifests.map((m) => `${repo}@${m.digest}`)));
    for (const m of manifests) {
      const platform = platformOf(m.platform);
      const config = await configOf(repo, m);
      assert.equal(config.config.User, '10001:10001', `${platform}: runs as a plain user`);
      assert.deepEqual(config.config.Entrypoint, ['archfarm-agent']);
      assert.ok(config.config.Volumes && '/var/lib/archfarm-agent' in config.config.Volumes, `${platform}: the state dir is a volume`);
      assert.equal(config.config.Labels?.['org.opencontainers.image.title'], 'archfarm-agent');
      const out = await run('docker', ['run', '--rm', ...LABEL, '--platform', platform, `${repo}@${m.digest}`, '--version']);
      assert.equal(out.code, 0, `${platform}: ${out.stderr}`);
      assert.equal(out.stdout.trim(), version, `${platform}: archfarm-agent --version`);
      const arch = await run('docker', ['run', '--rm', ...LABEL, '--platform', platform, '--entrypoint', 'node', `${repo}@${m.digest}`, '-p', 'process.arch']);
      assert.equal(arch.stdout.trim(), { amd64: 'x64', arm64: 'arm64', arm: 'arm', s390x: 's390x' }[config.architecture], `${platform}: node runs as that CPU`);
    }
  });

  test('the coordinator image (linux/amd64, prebuilt addon): --version, then it starts and serves TLS on 7420', async () => {
    const tag = `${testRegistry()}/${uniqueRepository('coordinator-image')}:1`;
    const repo = tag.slice(0, tag.lastIndexOf(':'));
    const manifests = await archfarmBuild(await coordinatorImageContext(), ['linux/amd64'], tag, ['--build-arg', 'APP_SOURCE=prebuilt']);
    assert.deepEqual(manifests.map((m) => platformOf(m.platform)), ['linux/amd64']);
    const image = `${repo}@${manifests[0]!.digest}`;
    const config = await configOf(repo, manifests[0]!);
    assert.equal(config.config.User, '10001:10001');
    assert.ok(config.config.Volumes && '/var/lib/archfarm' in config.config.Volumes, 'the data dir is a volume');

    const version = await run('docker', ['run', '--rm', ...LABEL, image, '--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), versionOf('coordinator'));

    // Default command: listens on 0.0.0.0:7420 with its data (SQLite, CA) in the volume.
    const started = await run('docker', ['run', '-d', '--rm', ...LABEL, '-p', '127.0.0.1::7420', image]);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    try {
      const logs = await waitForLog(id, 'coordinator serving');
      assert.match(logs, /initial admin token/);
      const port = await run('docker', ['port', id, '7420/tcp']);
      const hostPort = Number(/:(\d+)\s*$/m.exec(port.stdout)?.[1]);
      assert.ok(hostPort > 0, `docker port: ${port.stdout}${port.stderr}`);
      assert.equal(await tlsProtocol(hostPort), 'TLSv1.3', 'the published port speaks TLS');
      const db = await run('docker', ['exec', id, 'ls', '/var/lib/archfarm']);
      assert.match(db.stdout, /archfarm\.db/, 'the SQLite store is in the data dir');
    } finally {
      await run('docker', ['rm', '-f', '-v', id]);
      await removeImages([image]);
    }
  });
});

/** Drops the images `docker run` pulled into the shared engine (best effort). */
async function removeImages(refs: string[]): Promise<void> {
  await run('docker', ['image', 'rm', ...refs]);
}

async function waitForLog(container: string, text: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = await run('docker', ['logs', container]);
    const all = `${logs.stdout}${logs.stderr}`;
    if (all.includes(text)) return all;
    if (Date.now() > deadline) throw new Error(`no "${text}" in the container's log after ${timeoutMs} ms:\n${all.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The TLS version a handshake with 127.0.0.1:port agrees on (the coordinator's CA is its own, so no verification). */
function tlsProtocol(port: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve(protocol);
    });
    socket.once('error', reject);
  });
}
