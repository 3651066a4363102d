import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './free-port';

/**
 * A repository served by a real `git daemon` on 127.0.0.1 (its own port and base path), for
 * tests of git contexts: `url` is git://127.0.0.1:PORT/repo.git; commit() adds a commit to
 * `main` in the working clone and pushes it to the served bare repository.
 */
export class TestGitRepo {
  private constructor(
    readonly root: string,
    readonly url: string,
    private readonly daemon: ChildProcess,
  ) {}

  static async start(): Promise<TestGitRepo> {
    const root = mkdtempSync(join(tmpdir(), 'archfarm-git-'));
    const work = join(root, 'work');
    git(root, 'init', '--quiet', '--initial-branch=main', work);
    git(root, 'init', '--quiet', '--bare', '--initial-branch=main', join(root, 'served', 'repo.git'));
    const port = await freePort();
    const daemon = spawn('git', ['daemon', '--verbose', '--reuseaddr', '--export-all', `--base-path=${join(root, 'served')}`, '--listen=127.0.0.1', `--port=${port}`, join(root, 'served')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    daemon.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!said.includes('Ready to rumble')) {
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`git daemon did not start: ${said}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return new TestGitRepo(root, `git://127.0.0.1:${port}/repo.git`, daemon);
  }

  /** Writes `files` (path -> content) into the working tree, commits them to main, pushes; the commit id. */
  commit(files: Record<string, string>, message = 'change'): string {
    const work = join(this.root, 'work');
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    git(work, 'add', '--all');
    git(work, '-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '--quiet', '-m', message);
    git(work, 'push', '--quiet', join(this.root, 'served', 'repo.git'), 'main');
    return this.revParse('main');
  }

  /** Runs git in the working clone (tags, branches); its stdout. */
  git(...args: string[]): string {
    return git(join(this.root, 'work'), ...args);
  }

  revParse(rev: string): string {
    return this.git('rev-parse', rev).trim();
  }

  /** Stops the daemon (by its pid) and removes the repositories. */
  async stop(): Promise<void> {
    if (this.daemon.exitCode === null) {
      const closed = once(this.daemon, 'close');
      this.daemon.kill('SIGTERM');
      await closed;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
}

