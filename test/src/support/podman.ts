import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './processes';

/*
 * A real Podman engine for tests: Debian's podman (scripts/host-setup.sh installs it)
 * serving its Docker-compatible API on a socket in a temp dir. Its image store is in that
 * temp dir too, so a test neither sees nor touches images of the host's podman, and
 * stop() leaves nothing behind. A missing podman fails the test; it is never skipped.
 */

const HINT = 'install it with scripts/host-setup.sh (`make setup` runs it)';

/** One answer of the service's API. */
export interface PodmanAnswer {
  status: number;
  text: string;
}

export interface PodmanService {
  /** For the agent's --docker-host: unix://<dir>/podman.sock. */
  readonly dockerHost: string;
  readonly socketPath: string;
  /** One request to the compatible API, e.g. api('GET', '/v1.41/images/json'). */
  api(method: string, path: string): Promise<PodmanAnswer>;
  /** Runs the podman CLI on this service's image store. */
  podman(args: string[]): ReturnType<typeof run>;
  /** What the service wrote to stderr so far. */
  log(): string;
  /** Stops the service, removes every image and container of its store, and the temp dir. */
  stop(): Promise<void>;
}

/** Starts `podman system service --time=0` and waits until /v1.41/info answers. */
export async function startPodmanService(timeoutMs = 60_000): Promise<PodmanService> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-podman-'));
  const socketPath = join(dir, 'podman.sock');
  const storeArgs = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp')];
  const child = spawn('podman', [...storeArgs, 'system', 'service', '--time=0', `unix://${socketPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const service: PodmanService = {
    dockerHost: `unix://${socketPath}`,
    socketPath,
    api: (method, path) => api(socketPath, method, path),
    podman: (args) => run('podman', [...storeArgs, ...args]),
    log: () => stderr,
    stop: () => stopService(child, dir, storeArgs),
  };
  try {
    await waitForInfo(child, socketPath, timeoutMs, () => stderr);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}

async function waitForInfo(child: ChildProcess, socketPath: string, timeoutMs: number, log: () => string): Promise<void> {
  const spawnError = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`cannot run podman (${err.message}); ${HINT}`, { cause: err }))));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`podman system service exited (${child.exitCode}):\n${log().slice(-2000)}`);
    const answer = await Promise.race([api(socketPath, 'GET', '/v1.41/info').catch(() => undefined), spawnError]);
    if (answer?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`podman's API did not answer on ${socketPath} within ${timeoutMs} ms:\n${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function api(socketPath: string, method: string, path: string): Promise<PodmanAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function stopService(child: ChildProcess, dir: string, storeArgs: string[]): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  // Not `system reset`: it also deletes the host's podman networks, which are not in this store.
  for (const args of [['rm', '--all', '--force'], ['rmi', '--all', '--force']]) {
    const res = await run('podman', [...storeArgs, ...args]);
    if (res.code !== 0) process.stderr.write(`podman ${args.join(' ')} failed (${res.code}): ${res.stderr}\n`);
  }
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Whatever the store left mounted under `dir` (deepest first), so rm does not fail on a busy mount. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]);
}
