import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { dockerVersions } from './docker-cli';

/** What the numbers were measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  docker: string;
  commit: string;
}

export async function describeMachine(repoDir: string): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const versions = await dockerVersions();
  return {
    cpu: model,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `Linux ${release()}`,
    node: process.version,
    docker: `engine ${versions.server}, client ${versions.client}`,
    commit: await commitOf(repoDir),
  };
}

/** `git rev-parse --short HEAD`, marked when the tree has uncommitted changes (other than this run's own results). */
export async function commitOf(dir: string): Promise<string> {
  const git = (args: string[]) => promisify(execFile)('git', args, { cwd: dir }).then((r) => r.stdout.trim());
  try {
    const head = await git(['rev-parse', '--short', 'HEAD']);
    const dirty = (await git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results', ':!bench/RESULTS.md'])) !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}
