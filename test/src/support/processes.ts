import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';

/** The repository root (test/dist/support -> ../../..). */
export const ROOT = resolve(__dirname, '..', '..', '..');

export const BIN = {
  coordinator: resolve(ROOT, 'coordinator/dist/main.js'),
  agent: resolve(ROOT, 'agent/dist/main.js'),
  cli: resolve(ROOT, 'cli/dist/main.js'),
};

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and collects its output. */
export async function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { env: { ...process.env, ...options.env }, cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, options.input);
}

/** Collects a spawned child's output until it exits. */
export async function collect(child: ChildProcess, input?: string): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // A child that exits before reading its stdin (truncate, mkfs) closes the pipe first: the
  // EPIPE that the end of its input then gets is not the test's failure, its exit code is.
  let stdinError: NodeJS.ErrnoException | undefined;
  child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') stdinError = err;
  });
  child.stdin?.end(input ?? '');
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (stdinError) throw stdinError;
  return { code, signal, stdout, stderr };
}

/** Resolves when `predicate` holds for the output seen so far on `stream`; rejects after `timeoutMs`. */
export function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', predicate: (text: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${stream}; saw:\n${text.slice(-2000)}`)), timeoutMs);
    const source = child[stream];
    if (!source) return reject(new Error(`${stream} is not piped`));
    const onData = (d: Buffer) => {
      text += d.toString();
      if (predicate(text)) {
        clearTimeout(timer);
        source.off('data', onData);
        resolvePromise(text);
      }
    };
    source.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!predicate(text)) reject(new Error(`process exited (${code}) before the expected output; saw:\n${text.slice(-2000)}`));
    });
  });
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
