import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestFleet } from './fleet';
import { ROOT, run } from './processes';

/** The CPUs the agent must run on, as `node-linux-<arch>` names them (x64: the host's own). */
export type ForeignArch = 'arm64' | 'armv7l' | 's390x' | 'ppc64le' | 'x64';

/** What `process.arch` says on each (Node.js calls armv7l "arm" and ppc64le "ppc64"). */
export const PROCESS_ARCH: Record<ForeignArch, string> = { arm64: 'arm64', armv7l: 'arm', s390x: 's390x', ppc64le: 'ppc64', x64: 'x64' };

/**
 * A real Node.js binary for `arch` (runs through QEMU binfmt): scripts/foreign-node.sh
 * fetches and caches it and installs the target libc, idempotently. `version` defaults to
 * the script's (20.11.0, the newest npm has for all four foreign CPUs).
 */
export async function foreignNode(arch: ForeignArch, version?: string): Promise<string> {
  const env = version ? { ARCHFARM_FOREIGN_NODE_VERSION: version } : {};
  const res = await run('bash', [join(ROOT, 'scripts/foreign-node.sh'), arch], { env });
  if (res.code !== 0) throw new Error(`scripts/foreign-node.sh ${arch} failed (${res.code}):\n${res.stderr}`);
  return res.stdout.trim().split('\n').pop()!;
}

/** Builds the single-file agent (scripts/bundle-agent.mjs, from agent/dist) and returns its path. */
export async function bundleAgent(): Promise<string> {
  const res = await run(process.execPath, [join(ROOT, 'scripts/bundle-agent.mjs'), '--quiet']);
  if (res.code !== 0) throw new Error(`bundle-agent failed (${res.code}):\n${res.stderr}`);
  return res.stdout.trim().split('\n').pop()!;
}

export interface ForeignAgent {
  child: ChildProcess;
  /** Everything it wrote to stderr (pino JSON lines). */
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts the bundled agent under `node` (a foreign binary), enrolled in `fleet` with a
 * fresh one-use join token. The fleet's own agents run the host's node on agent/dist;
 * this one is the artefact a Raspberry Pi or a mainframe would get.
 */
export async function startForeignAgent(fleet: TestFleet, node: string, bundle: string, spec: { name: string; platforms: string; labels: string[] }): Promise<ForeignAgent> {
  const joinToken = await fleet.createJoinToken(1);
  const args = [bundle, '--coordinator', fleet.address, '--name', spec.name, '--state-dir', fleet.agentStateDir(spec.name), '--join-token', joinToken, '--ca-fingerprint', fleet.caFingerprint, '--platforms', spec.platforms, '--slots', '1'];
  for (const label of spec.labels) args.push('--label', label);
  // cwd outside the repository: nothing may be resolved from its node_modules.
  const child = spawn(node, args, { cwd: fleet.dir, env: { ...process.env, ARCHFARM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text += d.toString();
    if (process.env.ARCHFARM_TEST_VERBOSE) process.stderr.write(`[${spec.name}] ${d.toString()}`);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, log: () => text, stop };
}
