import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { BIN, run, waitForOutput, type RunResult } from './processes';

/**
 * `archfarm-coordinator` as its own process on a loopback port of its choosing, with every
 * byte it writes kept (both streams), and the CLI pointed at it.
 */
export class CoordinatorChild {
  private out = '';
  address = '';

  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  /** Starts it and waits until it serves. */
  static async start(dataDir: string, args: string[] = []): Promise<CoordinatorChild> {
    const child = CoordinatorChild.spawn(dataDir, args);
    const text = await waitForOutput(child.child, 'stderr', (t) => t.includes('coordinator serving'), 30_000);
    const line = text.split('\n').find((l) => l.includes('coordinator serving'))!;
    child.address = (JSON.parse(line) as { listen: string }).listen;
    return child;
  }

  /** Spawns it without waiting (for one that must refuse to start). */
  static spawn(dataDir: string, args: string[] = []): CoordinatorChild {
    const child = spawn(process.execPath, [BIN.coordinator, '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args], {
      env: { ...process.env, ARCHFARM_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new CoordinatorChild(child, dataDir);
  }

  /** Everything it wrote on stdout and stderr so far. */
  get output(): string {
    return this.out;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the exit code once it exits. */
  async exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const [code] = (await once(this.child, 'exit')) as [number | null];
    return code;
  }

  /** Runs the CLI against it with `token`. */
  cli(args: string[], token: string, input?: string): Promise<RunResult> {
    const env = { ARCHFARM_COORDINATOR: this.address, ARCHFARM_TOKEN: token, ARCHFARM_CA_FILE: join(this.dataDir, 'tls', 'ca.crt'), ARCHFARM_CONFIG: join(this.dataDir, '..', 'cli-config.json') };
    return run(process.execPath, [BIN.cli, ...args], { env, input });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
  }
}
