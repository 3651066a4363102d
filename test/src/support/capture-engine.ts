import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngine } from '@archfarm/agent';
import { startPodmanService, type PodmanService } from './podman';
import { run } from './processes';

/**
 * An engine the failure-text capture runs on: dockerd through its socket, or a Podman
 * service of its own, restarted when a new plain-HTTP registry must be allowed (Podman reads
 * insecure registries from registries.conf and keeps what it read).
 */
export interface CaptureEngine {
  readonly name: string;
  readonly version: string;
  readonly engine: DockerEngine;
  readonly socketPath: string;
  /** Lets the engine speak plain HTTP to this host:port (dockerd does for all of 127.0.0.0/8). */
  allowInsecure(address: string): void;
  /** Before each scenario: Podman restarts here when allowInsecure added an address. */
  ready(): Promise<void>;
  /**
   * Podman only: keeps the image store on a tmpfs of `sizeMb` for `body` (a full disk, without
   * filling a real one). dockerd's store is the host's, shared: undefined there.
   */
  /** Podman only: stops the engine itself (SIGTERM to the service); the next ready() starts it again. */
  stopEngine?(): Promise<void>;
  onSmallDisk?<T>(sizeMb: number, body: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export async function captureEngine(name: string, sockets: Record<string, string>): Promise<CaptureEngine> {
  if (name === 'podman') return PodmanCapture.start();
  const socketPath = sockets[name];
  if (socketPath === undefined) throw new Error(`unknown engine ${name}; one of ${[...Object.keys(sockets), 'podman'].join(', ')}`);
  const engine = new DockerEngine({ host: { kind: 'unix', socketPath } });
  const info = await engine.info();
  return { name, version: info.description, engine, socketPath, allowInsecure: () => undefined, ready: () => Promise.resolve(), stop: () => Promise.resolve() };
}

class PodmanCapture implements CaptureEngine {
  readonly name = 'podman';
  version = '';
  engine!: DockerEngine;
  socketPath = '';
  private service: PodmanService | undefined;
  private readonly insecure = new Set<string>();
  private stale = true;

  private constructor(private readonly dir: string) {}

  static async start(): Promise<PodmanCapture> {
    const capture = new PodmanCapture(await mkdtemp(join(tmpdir(), 'archfarm-capture-')));
    capture.allowInsecure('127.0.0.1:5000');
    await capture.ready();
    return capture;
  }

  allowInsecure(address: string): void {
    if (this.insecure.has(address)) return;
    this.insecure.add(address);
    this.stale = true;
  }

  async ready(): Promise<void> {
    if (!this.stale) return;
    await this.service?.stop();
    const conf = join(this.dir, 'registries.conf');
    await writeFile(conf, [...this.insecure].map((a) => `[[registry]]\nlocation = "${a}"\ninsecure = true\n`).join('\n'));
    // The service inherits the environment: registries.conf of our own, not the host's.
    process.env.CONTAINERS_REGISTRIES_CONF = conf;
    this.service = await startPodmanService();
    this.socketPath = this.service.socketPath;
    this.engine = new DockerEngine({ host: { kind: 'unix', socketPath: this.socketPath } });
    this.version = (await this.engine.info()).description;
    this.stale = false;
  }

  async stopEngine(): Promise<void> {
    await this.service?.stop();
    this.service = undefined;
    this.stale = true;
  }

  async onSmallDisk<T>(sizeMb: number, body: () => Promise<T>): Promise<T> {
    // A short path: Podman refuses a runroot longer than 50 characters.
    const mount = await mkdtemp('/tmp/afd-');
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', mount]);
    if (mounted.code !== 0) throw new Error(`mount a ${sizeMb} MB tmpfs: ${mounted.stderr}`);
    // startPodmanService puts the store under os.tmpdir(), which reads TMPDIR each time.
    const before = process.env.TMPDIR;
    process.env.TMPDIR = mount;
    this.stale = true;
    try {
      await this.ready();
      return await body();
    } finally {
      await this.service?.stop();
      this.service = undefined;
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
      this.stale = true;
      await run('umount', [mount]);
      await rm(mount, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    await this.service?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
