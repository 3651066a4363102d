import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN, waitForOutput } from '@archfarm/test';

/** A coordinator process started by a benchmark with flags of its own. */
export interface CoordinatorProcess {
  address: string;
  adminToken: string;
  pid: number;
  /** The last lines it wrote (for errors). */
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Starts `archfarm-coordinator` on a loopback port of its choosing, as an operator would,
 * with its log (pino JSON, level info) read and dropped as it comes so it never blocks.
 */
export async function startCoordinator(args: string[]): Promise<CoordinatorProcess> {
  // e.g. BENCH_COORDINATOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.BENCH_COORDINATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, BIN.coordinator, '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ARCHFARM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let recent = '';
  child.stderr?.on('data', (d: Buffer) => {
    recent = (recent + d.toString()).slice(-8000);
  });
  const text = await waitForOutput(child, 'stderr', (t) => t.includes('coordinator serving'), 30_000);
  const line = text.split('\n').find((l) => l.includes('coordinator serving'))!;
  const address = (JSON.parse(line) as { listen: string }).listen;
  // The first start writes DATA/admin-token (0600); the log only says where.
  const adminFile = /"adminTokenFile":"([^"]+)"/.exec(text)?.[1];
  const adminToken = adminFile ? readFileSync(adminFile, 'utf8').trim() : '';
  return {
    address,
    adminToken,
    pid: child.pid!,
    tail: () => recent,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(force);
    },
  };
}
