/*
 * The VM test fleet (`make test-fleet`): genuinely foreign machines. A Debian arm64 VM
 * (qemu-system-aarch64) and a Debian s390x VM (qemu-system-s390x), each with its own kernel,
 * dockerd and Debian's Node.js 18, install the agent bundle with deploy/install-agent.sh and
 * enrol with a join token to a coordinator on this host, next to one host agent that emulates.
 * Each VM also runs Debian 13's dockerd 26 with the containerd image store (the engine of a
 * user who installs a current Docker) beside its dockerd 20.10; agents on this host drive those
 * engines remotely, through a forwarded port, and build both CPUs natively there. Remote, not a
 * second agent in the VM: a build context that only reaches a local engine (a tar served on the
 * agent's loopback, moby/moby#47717's workaround) fails here, and the containerd store's
 * `docker save` output (gzip layers, nested index) comes from a foreign CPU's engine. The
 * Pi-owner install (install-agent.sh, Debian's Node.js in the VM) stays on dockerd 20.10.
 * Not named *.test.js: `npm run test:e2e` leaves it alone (it takes half an hour); the
 * Makefile runs it by path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { release } from 'node:os';
import { Platform } from '@archfarm/common';
import { DockerEngine, parseDockerHost, probePlatforms } from '@archfarm/agent';
import { submitDetached, waitFor, type Inspected } from '../support/builds';
import { baseImage, makeContext } from '../support/context';
import { TestFleet } from '../support/fleet';
import { run } from '../support/processes';
import { testRegistry, uniqueRepository } from '../support/registry';
import { skopeoInspect } from '../support/skopeo';
import { ForeignVm, VM_PLATFORMS, type VmArch } from './foreign-vm';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/arm/v7': 'armv7l', 'linux/s390x': 's390x' };
const HOST_AGENT = 'host-emu';
const DOCKER26_LABEL = 'engine=docker26';
const SNAPSHOTTER = 'io.containerd.snapshotter.v1';
const MIN = 60_000;
// Software-emulated machines on a shared 2-core host: generous, never asserted as timings.
const BOOT_TIMEOUT = 20 * MIN;
const BUILD_TIMEOUT = 30 * MIN;

interface AgentJson {
  name: string;
  node: string;
  engine: string;
  labels: Record<string, string>;
  platforms: Array<{ platform: string; mode: string }>;
}
interface IndexJson {
  manifests: Array<{ digest: string; platform: { os: string; architecture: string; variant?: string } }>;
}
const platformOf = (p: IndexJson['manifests'][number]['platform']) => [p.os, p.architecture, p.architecture === 'arm64' ? undefined : p.variant].filter(Boolean).join('/');
const ended = (b: Inspected) => ['published', 'failed', 'cancelled'].includes(b.state);

/**
 * Each image records where its RUN step ran (kernel release and CPU) and prints that and the
 * CPU it runs on. A kernel release of Debian's arm64/s390x kernel proves the step ran in the VM;
 * the host's own release, under QEMU user mode on this host.
 */
const cpuContext = (seconds: number) =>
  makeContext({
    Dockerfile: [
      `FROM ${baseImage()}`,
      `RUN echo ${randomBytes(4).toString('hex')} && uname -rm > /built-on && sleep ${seconds}`,
      'CMD ["sh", "-c", "echo \\"cpu=$(uname -m) built-on=$(cat /built-on)\\""]',
      '',
    ].join('\n'),
  });

describe('a fleet of foreign VMs: arm64 and s390x build natively, the host emulates the rest', () => {
  let fleet: TestFleet;
  const vms = new Map<VmArch, ForeignVm>();

  const consoles = async () => (await Promise.all([...vms.values()].map(async (vm) => `--- ${vm.arch} console ---\n${await vm.consoleTail()}`))).join('\n');

  before(async () => {
    testRegistry();
    fleet = await TestFleet.start([{ name: HOST_AGENT, platforms: FOUR.join(','), slots: 4 }], {
      // A VM under load can be slow to answer; a lease outlives a few missed heartbeats.
      coordinatorArgs: ['--heartbeat-interval', '2s', '--lease-ttl', '30s'],
    });
    const enrolment = {
      coordinator: `10.0.2.2:${fleet.address.split(':').pop()}`,
      // Two VMs, and room for a first-boot retry (archfarm-firstboot.service restarts on failure).
      joinToken: await fleet.createJoinToken(4),
      caFingerprint: fleet.caFingerprint,
    };
    for (const arch of Object.keys(VM_PLATFORMS) as VmArch[]) {
      vms.set(arch, await ForeignVm.boot(arch, { ...enrolment, platforms: VM_PLATFORMS[arch] }));
    }
    try {
      await fleet.waitForAgents([...vms.values()].map((vm) => vm.agentName), BOOT_TIMEOUT);
      for (const vm of vms.values()) await vm.waitForDocker26(BOOT_TIMEOUT);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await consoles()}`);
    }
  });

  after(async () => {
    await Promise.all([...vms.values()].map((vm) => vm.destroy()));
    await fleet?.stop();
  });

  test('archfarm agents shows each VM agent with its native platform, Node.js and engine', async () => {
    const res = await fleet.cli(['agents', '--output', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const agents = JSON.parse(res.stdout) as AgentJson[];
    for (const vm of vms.values()) {
      const agent = agents.find((a) => a.name === vm.agentName);
      assert.ok(agent, `${vm.agentName} is connected`);
      assert.deepEqual(agent.platforms, [{ platform: VM_PLATFORMS[vm.arch], mode: 'native' }]);
      assert.match(agent.node, /^v18\./, "Debian 12's own Node.js");
      assert.match(agent.engine, new RegExp(`^docker 20\\.10\\.\\d+\\S* \\(${VM_PLATFORMS[vm.arch].replace('/', '\\/')}\\)`), 'its own dockerd');
      assert.equal(agent.labels['node-arch'], vm.arch, 'Node.js itself runs on that CPU');
    }
    for (const vm of vms.values()) {
      const info = await vm.docker26Info();
      assert.match(info.ServerVersion, /^26\.1\.5/, `the ${vm.arch} VM's second engine is Debian 13's dockerd`);
      assert.equal(info.Architecture, UNAME[VM_PLATFORMS[vm.arch]]);
      assert.deepEqual(info.DriverStatus?.find(([k]) => k === 'driver-type'), ['driver-type', SNAPSHOTTER], 'the containerd image store');
    }
    const host = agents.find((a) => a.name === HOST_AGENT)!;
    assert.equal(host.node, process.version);
    const table = await fleet.cli(['agents']);
    assert.match(table.stdout, /archfarm-s390x +connected +linux\/s390x\* .* v18\.\S+ .* docker 20\.10\.\d+\S* \(linux\/s390x\)/);
    assert.match(table.stdout, /archfarm-arm64 +connected +linux\/arm64\* .* v18\.\S+ .* docker 20\.10\.\d+\S* \(linux\/arm64\)/);
  });

  test('four platforms: arm64 and s390x run native on the VMs, arm/v7 emulated on the host; each child prints its CPU', async () => {
    const ctx = await cpuContext(0);
    const tag = `${testRegistry()}/${uniqueRepository('vm-fleet')}:1`;
    const args = ['--platform', FOUR.join(','), '-t', tag, ctx];
    const expected = {
      'linux/amd64': [HOST_AGENT, 'native'],
      'linux/arm64': ['archfarm-arm64', 'native'],
      'linux/arm/v7': [HOST_AGENT, 'emulated'],
      'linux/s390x': ['archfarm-s390x', 'native'],
    } as Record<string, [string, string]>;

    const planned = await fleet.cli(['build', '--plan', '--output', 'json', ...args]);
    assert.equal(planned.code, 0, planned.stderr);
    const plan = JSON.parse(planned.stdout) as Array<{ platform: string; agent: string; mode: string }>;
    assert.deepEqual(Object.fromEntries(plan.map((p) => [p.platform, [p.agent, p.mode]])), expected, '--plan');

    const id = await submitDetached(fleet, args);
    const done = await waitFor(fleet, id, ended, BUILD_TIMEOUT, 'the four-platform build');
    assert.equal(done.state, 'published', JSON.stringify(done.error));
    const ran = Object.fromEntries(done.platforms.map((p) => [p.platform, [p.attempts[0]!.agent, p.attempts[0]!.mode]]));
    assert.deepEqual(ran, expected, 'builds inspect');
    assert.ok(done.platforms.every((p) => p.attempts.length === 1), 'one attempt each');

    await checkIndex(tag, { 'linux/arm64': 'vm', 'linux/s390x': 'vm', 'linux/arm/v7': 'host', 'linux/amd64': 'host' });
  });

  test("dockerd 26 in each VM (containerd image store), driven remotely by agents on this host: arm64 and s390x build natively and publish", async () => {
    const names = [...vms.values()].map((vm) => `${vm.arch}-docker26`);
    for (const vm of vms.values()) {
      await fleet.addAgent({ name: `${vm.arch}-docker26`, platforms: VM_PLATFORMS[vm.arch], labels: [DOCKER26_LABEL] }, ['--docker-host', vm.docker26Host]);
    }
    try {
      const agents = (await fleet.waitForAgents(names, BOOT_TIMEOUT)) as unknown as AgentJson[];
      for (const vm of vms.values()) {
        const agent = agents.find((a) => a.name === `${vm.arch}-docker26`)!;
        assert.deepEqual(agent.platforms, [{ platform: VM_PLATFORMS[vm.arch], mode: 'native' }], `${agent.name}: the engine's own CPU`);
        assert.match(agent.engine, new RegExp(`^docker 26\\.1\\.5\\S* \\(${VM_PLATFORMS[vm.arch].replace('/', '\\/')}\\)`), `${agent.name}: the VM's dockerd 26`);
      }
      const ctx = await cpuContext(0);
      const tag = `${testRegistry()}/${uniqueRepository('vm-docker26')}:1`;
      const platforms = Object.values(VM_PLATFORMS);
      const args = ['--platform', platforms.join(','), '--require-label', DOCKER26_LABEL, '-t', tag, ctx];
      const expected = Object.fromEntries(platforms.map((p) => [p, [`${p.split('/')[1]}-docker26`, 'native']]));

      const planned = await fleet.cli(['build', '--plan', '--output', 'json', ...args]);
      assert.equal(planned.code, 0, planned.stderr);
      const plan = JSON.parse(planned.stdout) as Array<{ platform: string; agent: string; mode: string }>;
      assert.deepEqual(Object.fromEntries(plan.map((p) => [p.platform, [p.agent, p.mode]])), expected, '--plan');

      const id = await submitDetached(fleet, args);
      const done = await waitFor(fleet, id, ended, BUILD_TIMEOUT, 'the build on the VMs\' dockerd 26');
      assert.equal(done.state, 'published', JSON.stringify(done.error));
      assert.deepEqual(Object.fromEntries(done.platforms.map((p) => [p.platform, [p.attempts[0]!.agent, p.attempts[0]!.mode]])), expected, 'builds inspect');
      assert.ok(done.platforms.every((p) => p.attempts.length === 1), 'one attempt each');
      await checkIndex(tag, { 'linux/arm64': 'vm', 'linux/s390x': 'vm' });
    } finally {
      // Gone before the next test, whose arm64 job must go to the VM's own agent.
      for (const name of names) await fleet.killAgent(name, 'SIGTERM');
    }
  });

  /*
   * The arm64 VM's CPU (qemu-system-aarch64 -cpu cortex-a72, TCG, as a Pi 4's) runs AArch32 at
   * EL0, the VM's Debian kernel has CONFIG_COMPAT and no qemu-arm is registered there: arm/v7
   * code runs on the VM's CPU itself, and the probe must say native (probe-mode.ts). Checked
   * outside the fleet with the same QEMU, CPU and kernel: the arm probe program prints
   * "aarch64" there. The VM's own agent serves linux/arm64 only (the Pi-owner install), so an
   * agent on this host probes the VM's dockerd 26 for arm/v7: the agent's probe code, the VM's
   * CPU and kernel.
   */
  test('linux/arm/v7 on the arm64 VM is native: its kernel runs the 32-bit probe itself (uname -m aarch64, not QEMU\'s armv7l)', async () => {
    const arm = vms.get('arm64')!;
    const engine = new DockerEngine({ host: parseDockerHost(arm.docker26Host) });
    const probed = await probePlatforms(engine, Platform.parseList('linux/arm/v7,linux/arm/v6'), { timeoutMs: 10 * MIN });
    const shown = probed.map((p) => `${p.platform.toString()} ${p.mode} uname-m=${p.machine ?? '-'} (${p.reason})`);
    process.stderr.write(`  the arm64 VM's dockerd 26 probed: ${shown.join('; ')}\n`);
    assert.deepEqual(
      probed.map((p) => [p.platform.toString(), p.mode, p.machine ?? '-']),
      [['linux/arm64', 'native', '-'], ['linux/arm/v7', 'native', 'aarch64'], ['linux/arm/v6', 'native', 'aarch64']],
      shown.join('\n'),
    );

    const name = 'arm64-aarch32';
    await fleet.addAgent({ name, platforms: 'linux/arm64,linux/arm/v7' }, ['--docker-host', arm.docker26Host]);
    try {
      const agents = (await fleet.waitForAgents([name], BOOT_TIMEOUT)) as unknown as AgentJson[];
      const reported = agents.find((a) => a.name === name)!.platforms;
      process.stderr.write(`  an agent on the arm64 VM's engine reports: ${JSON.stringify(reported)}\n`);
      assert.deepEqual(reported, [{ platform: 'linux/arm64', mode: 'native' }, { platform: 'linux/arm/v7', mode: 'native' }]);
      const planned = await fleet.cli(['build', '--plan', '--output', 'json', '--platform', 'linux/arm/v7', '--emulation', 'deny', '-t', `${testRegistry()}/${uniqueRepository('vm-aarch32')}:1`, await cpuContext(0)]);
      assert.equal(planned.code, 0, planned.stderr);
      const plan = JSON.parse(planned.stdout) as Array<{ platform: string; agent: string; mode: string }>;
      assert.deepEqual(plan.map((p) => [p.platform, p.agent, p.mode]), [['linux/arm/v7', name, 'native']], '--emulation deny places arm/v7 on the VM');
    } finally {
      // Gone before the next test, whose arm/v7 job must go to the host agent.
      await fleet.killAgent(name, 'SIGTERM');
    }
  });

  test('the arm64 VM dies mid-build (qemu killed): its job moves to the emulating host agent and the build publishes', async () => {
    const arm = vms.get('arm64')!;
    const tag = `${testRegistry()}/${uniqueRepository('vm-kill')}:1`;
    // Long enough that the VM is surely inside the RUN step when its plug is pulled.
    const id = await submitDetached(fleet, ['--platform', FOUR.join(','), '-t', tag, await cpuContext(120)]);
    const running = await waitFor(fleet, id, (b) => ended(b) || armJob(b)?.state === 'running', BUILD_TIMEOUT, 'the arm64 job to run on the VM');
    assert.deepEqual(armAttempts(running)[0], { agent: arm.agentName, mode: 'native' });
    await arm.kill();

    const done = await waitFor(fleet, id, ended, BUILD_TIMEOUT, 'the build after the VM died');
    assert.equal(done.state, 'published', JSON.stringify(done.error));
    assert.deepEqual(armAttempts(done), [
      { agent: arm.agentName, mode: 'native' },
      { agent: HOST_AGENT, mode: 'emulated' },
    ]);
    assert.notEqual(armJob(done)!.attempts[0]!.outcome, 'succeeded');
    const s390x = done.platforms.find((p) => p.platform === 'linux/s390x')!;
    assert.deepEqual(s390x.attempts.map((a) => a.agent), ['archfarm-s390x'], 'the other VM was not disturbed');
    await checkIndex(tag, { 'linux/arm64': 'host', 'linux/s390x': 'vm', 'linux/arm/v7': 'host', 'linux/amd64': 'host' });
    const list = JSON.parse((await fleet.cli(['agents', '--output', 'json', '--all'])).stdout) as Array<{ name: string; status: string }>;
    assert.equal(list.find((a) => a.name === arm.agentName)?.status, 'disconnected');
  });

  const armJob = (b: Inspected) => b.platforms.find((p) => p.platform === 'linux/arm64');
  const armAttempts = (b: Inspected) => armJob(b)!.attempts.map((a) => ({ agent: a.agent, mode: a.mode }));

  /** The tag holds an index of the platforms of `builtIn`; each child, run here, prints its CPU and where it was built. */
  async function checkIndex(tag: string, builtIn: Record<string, 'vm' | 'host'>): Promise<void> {
    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    const index = JSON.parse(raw.stdout) as IndexJson;
    assert.deepEqual(index.manifests.map((m) => platformOf(m.platform)).sort(), Object.keys(builtIn).sort());
    const repo = tag.slice(0, tag.lastIndexOf(':'));
    for (const m of index.manifests) {
      const platform = platformOf(m.platform);
      const out = await run('docker', ['run', '--rm', '--platform', platform, `${repo}@${m.digest}`]);
      assert.equal(out.code, 0, out.stderr);
      const printed = out.stdout.trim();
      process.stderr.write(`  ${platform}: ${printed}\n`);
      const match = /^cpu=(\S+) built-on=(\S+) (\S+)$/.exec(printed);
      assert.ok(match, `${platform} prints its CPU: ${printed}`);
      const [, cpu, kernel, builtCpu] = match;
      assert.equal(cpu, UNAME[platform], `${platform} runs on its CPU`);
      assert.equal(builtCpu, UNAME[platform], `${platform} was built on its CPU`);
      if (builtIn[platform] === 'host') assert.equal(kernel, release(), `${platform} was built on this host`);
      else assert.match(kernel!, new RegExp(`-${platform.split('/')[1]}$`), `${platform} was built under the VM's own Debian kernel`);
    }
  }
});
