import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, ROOT } from '../support/processes';

/** The CPUs of the VM fleet: Debian's name (scripts/vm/*.sh) and the OCI platform. */
export const VM_PLATFORMS = { arm64: 'linux/arm64', s390x: 'linux/s390x' } as const;
export type VmArch = keyof typeof VM_PLATFORMS;

/** What the VM's agent is enrolled with: exactly the install-agent.sh flags a Pi owner types. */
export interface Enrolment {
  /** The coordinator as the VM sees it: 10.0.2.2 is the host's loopback under QEMU user networking. */
  coordinator: string;
  joinToken: string;
  caFingerprint: string;
  /** --platforms of the agent. */
  platforms: string;
}

/** What the VM's dockerd 26 says of itself (`GET /info`), the fields the fleet test checks. */
export interface EngineInfo {
  ServerVersion: string;
  Architecture: string;
  DriverStatus: Array<[string, string]> | null;
}

const CACHE = process.env.ARCHFARM_VM_CACHE ?? '/var/cache/archfarm/vm';
export const BUNDLE = join(ROOT, 'agent/dist/bundle/archfarm-agent.cjs');

/**
 * One Debian VM of a foreign CPU under qemu-system (scripts/vm/boot.sh), whose first boot
 * installs the agent bundle with deploy/install-agent.sh and its systemd unit, as the README
 * tells a Raspberry Pi owner. The process is qemu itself: kill() pulls the VM's plug.
 */
export class ForeignVm {
  private exited: Promise<unknown>;

  private constructor(
    readonly arch: VmArch,
    private readonly work: string,
    private readonly qemu: ChildProcess,
    private readonly docker26Port: number,
  ) {
    this.exited = once(qemu, 'exit');
  }

  /**
   * The VM's second engine, Debian 13's dockerd 26 with the containerd image store, as a
   * --docker-host for an agent on this host: a port of the host's loopback that QEMU forwards
   * into the VM (scripts/vm/boot.sh), so the engine is genuinely remote to that agent.
   */
  get docker26Host(): string {
    return `tcp://127.0.0.1:${this.docker26Port}`;
  }

  /** `GET /info` of the VM's dockerd 26; rejects while it does not answer. */
  async docker26Info(): Promise<EngineInfo> {
    const res = await fetch(`http://127.0.0.1:${this.docker26Port}/info`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`dockerd 26 of the ${this.arch} VM: /info answered ${res.status}`);
    return (await res.json()) as EngineInfo;
  }

  /** Polls until the VM's dockerd 26 answers (it starts beside dockerd 20.10, under emulation). */
  async waitForDocker26(timeoutMs: number): Promise<EngineInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.docker26Info();
      } catch (err) {
        if (Date.now() > deadline || !this.running) throw new Error(`dockerd 26 of the ${this.arch} VM did not answer in ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  /** The agent's name: install-agent.sh enrols under the host name, which the image sets. */
  get agentName(): string {
    return `archfarm-${this.arch}`;
  }

  static async boot(arch: VmArch, enrolment: Enrolment): Promise<ForeignVm> {
    const work = join(CACHE, arch, `run-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await writeConfig(join(work, 'config'), enrolment);
    const docker26Port = await freePort();
    const qemu = spawn('bash', [join(ROOT, 'scripts/vm/boot.sh'), arch, work], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ARCHFARM_VM_DOCKER26_PORT: String(docker26Port) },
    });
    let stderr = '';
    qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const vm = new ForeignVm(arch, work, qemu, docker26Port);
    void vm.exited.then(() => {
      if (stderr.trim()) process.stderr.write(`[vm ${arch}] ${stderr}`);
    });
    return vm;
  }

  get running(): boolean {
    return this.qemu.exitCode === null && this.qemu.signalCode === null;
  }

  /** SIGKILL to qemu: the machine is gone at once, as if its power failed. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.qemu.kill('SIGKILL');
    await this.exited;
  }

  /** The last lines of its console (kernel, systemd, every journal line): for failure messages. */
  async consoleTail(lines = 40): Promise<string> {
    const text = await readFile(join(this.work, 'console.log'), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** Stops the VM and deletes its disks; keeps its console log as <arch>/last-console.log. */
  async destroy(): Promise<void> {
    if (this.running) {
      this.qemu.kill('SIGTERM');
      await this.exited;
    }
    await copyFile(join(this.work, 'console.log'), join(CACHE, this.arch, 'last-console.log')).catch(() => undefined);
    await rm(this.work, { recursive: true, force: true });
  }
}

/** The per-run disk: the bundle, deploy/ as it ships, and a firstboot.sh with the install command. */
async function writeConfig(dir: string, e: Enrolment): Promise<void> {
  await mkdir(join(dir, 'deploy'), { recursive: true });
  await copyFile(BUNDLE, join(dir, 'archfarm-agent.cjs'));
  await copyFile(join(ROOT, 'deploy/install-agent.sh'), join(dir, 'deploy/install-agent.sh'));
  await cp(join(ROOT, 'deploy/systemd'), join(dir, 'deploy/systemd'), { recursive: true });
  const script = [
    '#!/bin/bash',
    '# Written by test/src/vm/foreign-vm.ts; the VM runs it once (archfarm-firstboot.service).',
    'set -euo pipefail',
    'cd /opt/archfarm-install',
    `exec bash deploy/install-agent.sh --from archfarm-agent.cjs --coordinator ${e.coordinator} \\`,
    `  --join-token '${e.joinToken}' --ca-fingerprint '${e.caFingerprint}' --platforms '${e.platforms}'`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'firstboot.sh'), script, { mode: 0o755 });
}
