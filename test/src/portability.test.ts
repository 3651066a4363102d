import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, submitDetached, waitFor } from './support/builds';
import { testRegistry, uniqueRepository } from './support/registry';
import { bundleAgent, foreignNode, PROCESS_ARCH, startForeignAgent, type ForeignAgent, type ForeignArch } from './support/foreign-node';
import { run } from './support/processes';

// The issue's acceptance: the single-file agent, on real Node.js binaries for other CPUs
// (npm's node-linux-<arch>, run through QEMU binfmt), enrols, reports process.arch and
// completes a build job. The job itself is linux/amd64 on the host engine: what is under
// test is the agent's JavaScript on that CPU, not the engine's emulation.
// Plus the oldest Node.js the agent supports, 18: what Debian 12 and Raspberry Pi OS ship
// (on the host's CPU, so the version, not the CPU, is under test there).
interface Target {
  arch: ForeignArch;
  version?: string;
}
const TARGETS: Target[] = [{ arch: 'arm64' }, { arch: 'armv7l' }, { arch: 's390x' }, { arch: 'ppc64le' }, { arch: 'x64', version: '18.20.8' }];
const targetName = (t: Target) => (t.version ? `${t.arch}-node${t.version.split('.')[0]}` : t.arch);
const ended = (b: { state: string }) => ['published', 'failed', 'cancelled'].includes(b.state);
// Emulated Node.js: ~5 s to load the bundle, enrolment and probing several times slower.
const ARCH_TIMEOUT = 300_000;

interface AgentRow {
  name: string;
  version: string;
  node: string;
  labels: Record<string, string>;
}

describe('the bundled agent on foreign CPUs', { timeout: 30 * 60_000 }, () => {
  let fleet: TestFleet;
  let bundle: string;
  const nodes = new Map<Target, string>();

  before(async () => {
    // The bundle alone in a temp dir: no node_modules beside it, as on a Pi.
    const dir = await mkdtemp(join(tmpdir(), 'archfarm-bundle-'));
    bundle = join(dir, 'archfarm-agent.cjs');
    await copyFile(await bundleAgent(), bundle);
    for (const target of TARGETS) nodes.set(target, await foreignNode(target.arch, target.version));
    fleet = await TestFleet.start([]);
  }, { timeout: 10 * 60_000 });

  after(async () => {
    await fleet?.stop();
    if (bundle) await rm(join(bundle, '..'), { recursive: true, force: true });
  });

  test('the bundle (bundle-agent.mjs refuses native addons) runs on the host node with no node_modules beside it', async () => {
    const res = await run(process.execPath, [bundle, '--version'], { cwd: tmpdir() });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  for (const target of TARGETS) {
    const { arch } = target;
    const label = targetName(target);
    test(`${label}: --version, enrols, reports process.arch and its Node.js, completes a build job`, { timeout: ARCH_TIMEOUT }, async (t) => {
      const node = nodes.get(target)!;
      const nodeVersion = (await run(node, ['-p', 'process.version'], { cwd: tmpdir() })).stdout.trim();
      if (target.version) assert.equal(nodeVersion, `v${target.version}`);
      const started = Date.now();

      const version = await run(node, [bundle, '--version'], { cwd: tmpdir() });
      assert.equal(version.code, 0, `--version under ${arch}: ${version.stderr}`);
      assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);

      const name = `foreign-${label}`;
      let agent: ForeignAgent | undefined;
      try {
        agent = await startForeignAgent(fleet, node, bundle, { name, platforms: 'linux/amd64', labels: [`cpu=${label}`] });
        const exited = new Promise<never>((_, reject) => agent!.child.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${agent!.log().slice(-3000)}`))));
        const rows = await Promise.race([fleet.waitForAgents([name], ARCH_TIMEOUT - 60_000), exited]);
        const enrolled = Date.now();
        const row = (rows as unknown as AgentRow[]).find((a) => a.name === name)!;
        assert.equal(row.labels['node-arch'], PROCESS_ARCH[arch], `the agent reports its process.arch: ${JSON.stringify(row.labels)}`);
        assert.equal(row.version, version.stdout.trim());
        assert.equal(row.node, nodeVersion, `archfarm agents shows the Node.js it runs on: ${JSON.stringify(row)}`);

        const context = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo built-by-${arch} > /by\n` });
        const tag = `${testRegistry()}/${uniqueRepository(`portable-${label}`)}:1`;
        const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '--require-label', `cpu=${label}`, '-t', tag, context]);
        const build = await Promise.race([waitFor(fleet, id, ended, 180_000, `the build on ${name}`), exited]);
        assert.equal(build.state, 'published', JSON.stringify(build.error));
        const attempts = (await inspect(fleet, id)).platforms.flatMap((p) => p.attempts);
        const last = attempts[attempts.length - 1];
        assert.deepEqual([last?.agent, last?.outcome], [name, 'succeeded'], JSON.stringify(attempts));
        assert.match(build.digest, /^sha256:[0-9a-f]{64}$/);
        t.diagnostic(`${label}: enrolled in ${enrolled - started} ms, built in ${Date.now() - enrolled} ms`);
      } finally {
        await agent?.stop();
      }
    });
  }
});
