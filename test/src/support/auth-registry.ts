import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

/**
 * A second real registry (Debian's docker-registry) that demands a login: htpasswd with a
 * bcrypt entry made by `htpasswd -B`, on a loopback port of its own, for one test.
 */
export class AuthRegistry {
  private child: ChildProcess | undefined;
  address = '';

  private constructor(
    private readonly dir: string,
    readonly username: string,
    readonly password: string,
  ) {}

  static async start(username: string, password: string): Promise<AuthRegistry> {
    const registry = new AuthRegistry(await mkdtemp(join(tmpdir(), 'archfarm-authreg-')), username, password);
    await registry.launch();
    return registry;
  }

  private async launch(): Promise<void> {
    const made = spawnSync('htpasswd', ['-Bbn', this.username, this.password], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`htpasswd failed (apache2-utils comes with scripts/host-setup.sh): ${made.stderr}`);
    await writeFile(join(this.dir, 'htpasswd'), made.stdout);
    const port = await freePort();
    this.address = `127.0.0.1:${port}`;
    const config = [
      'version: 0.1',
      'storage:',
      `  filesystem: { rootdirectory: ${join(this.dir, 'data')} }`,
      'http:',
      `  addr: ${this.address}`,
      'auth:',
      '  htpasswd:',
      '    realm: archfarm-test',
      `    path: ${join(this.dir, 'htpasswd')}`,
      '',
    ].join('\n');
    await writeFile(join(this.dir, 'config.yml'), config);
    this.child = spawn('docker-registry', ['serve', join(this.dir, 'config.yml')], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await fetch(`http://${this.address}/v2/`).then((r) => r.status, () => 0);
      if (status === 401) return;
      if (Date.now() > deadline) throw new Error(`the htpasswd registry on ${this.address} did not come up (last status ${status})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
