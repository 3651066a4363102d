import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

/**
 * A registry of a test's own (Debian's docker-registry, no auth) on a loopback port and a data
 * dir of its own, that the test can stop and start again on the same port with the same
 * content: a base image's registry going down and coming back. Only its own process is
 * ever signalled, by the pid it was spawned with.
 */
export class PlainRegistry {
  private child: ChildProcess | undefined;
  address = '';

  private constructor(private readonly dir: string) {}

  static async start(): Promise<PlainRegistry> {
    const registry = new PlainRegistry(await mkdtemp(join(tmpdir(), 'archfarm-plainreg-')));
    registry.address = `127.0.0.1:${await freePort()}`;
    const config = ['version: 0.1', 'storage:', `  filesystem: { rootdirectory: ${join(registry.dir, 'data')} }`, 'http:', `  addr: ${registry.address}`, ''].join('\n');
    await writeFile(join(registry.dir, 'config.yml'), config);
    await registry.resume();
    return registry;
  }

  /** Starts the registry process (again), and waits until /v2/ answers 200. */
  async resume(): Promise<void> {
    this.child = spawn('docker-registry', ['serve', join(this.dir, 'config.yml')], { stdio: 'ignore' });
    const spawnFailed = new Promise<never>((_, reject) => this.child!.once('error', (err) => reject(new Error(`cannot run docker-registry (scripts/host-setup.sh installs it): ${err.message}`))));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await Promise.race([fetch(`http://${this.address}/v2/`).then((r) => r.status, () => 0), spawnFailed]);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`the registry on ${this.address} did not come up (last status ${status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the registry process (SIGTERM to its pid) and waits for it to exit; its data stays. */
  async pause(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  async stop(): Promise<void> {
    await this.pause();
    await rm(this.dir, { recursive: true, force: true });
  }
}
