import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { GIT_TRANSPORTS } from '@archfarm/common';
import { GitClientMissingError } from '../errors';

/**
 * The system `git` as the coordinator runs it for git contexts: for URLs anyone who may build
 * can choose, so nothing of the host's git setup applies and nothing can ask or run more than
 * a fetch. No system or user config (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null, HOME an
 * empty dir of the coordinator's own: no ~/.gitconfig, ~/.git-credentials, ~/.ssh), no
 * credential helper, no prompts (GIT_TERMINAL_PROMPT=0, ssh BatchMode), only the network
 * transports (protocol.allow=never, then each allowed one: no file://, no ext::, and a
 * redirect cannot lead to them either), no hooks, a fixed tar umask so archives are the
 * same on every host.
 */
const CONFIG: readonly string[] = [
  'protocol.allow=never',
  ...GIT_TRANSPORTS.map((t) => `protocol.${t}.allow=always`),
  'credential.helper=',
  'core.askPass=',
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'submodule.recurse=false',
  'init.defaultBranch=main',
  'advice.detachedHead=false',
  'tar.umask=022',
].flatMap((c) => ['-c', c]);

/** What stdout of one command may hold in memory (ls-remote of a big repository, rev-parse). */
const STDOUT_MAX_BYTES = 16 * 1024 * 1024;
/** What of stderr is kept for the error message. */
const STDERR_KEPT_BYTES = 4096;

/** git exited non-zero, was killed by the timeout, or wrote more than allowed. */
export class GitCommandFailed extends Error {
  constructor(
    readonly args: readonly string[],
    /** The last lines of git's stderr, for the error the caller raises. */
    readonly stderr: string,
    readonly reason: 'exit' | 'timeout' | 'too-large',
  ) {
    super(`git ${args[0]} failed (${reason}): ${stderr}`);
  }
}

export interface GitRunOptions {
  /** The empty home directory git sees. */
  home: string;
  cwd?: string;
  timeoutMs: number;
  /** Extra environment (commit-tree's identity and dates). */
  env?: Record<string, string>;
  /** Write stdout to this file instead of returning it, at most maxBytes. */
  toFile?: { path: string; maxBytes: number };
}

/** Runs `git ARGS` as described above; resolves with stdout ('' when written to a file). */
export function runGit(args: readonly string[], opts: GitRunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...CONFIG, ...args], { cwd: opts.cwd, env: gitEnv(opts), stdio: ['ignore', 'pipe', 'pipe'] });
    let reason: GitCommandFailed['reason'] = 'exit';
    const stop = (why: GitCommandFailed['reason']) => {
      reason = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    const file = opts.toFile && createWriteStream(opts.toFile.path, { mode: 0o600 });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > (opts.toFile?.maxBytes ?? STDOUT_MAX_BYTES)) return stop('too-large');
      if (!file) return void out.push(chunk);
      if (!file.write(chunk)) {
        child.stdout.pause();
        file.once('drain', () => child.stdout.resume());
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-STDERR_KEPT_BYTES)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new GitClientMissingError({ cause: e }) : e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const done = () => (code === 0 && reason === 'exit' ? resolve(Buffer.concat(out).toString('utf8')) : reject(new GitCommandFailed(args, lastLines(err), reason)));
      if (file) file.end(done);
      else done();
    });
  });
}

function gitEnv(opts: GitRunOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: opts.home,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_PROTOCOL_FROM_USER: '0',
    // No user ssh config or keys (HOME is empty); the host's known_hosts still decides trust.
    GIT_SSH_COMMAND: 'ssh -F /dev/null -o BatchMode=yes',
    ...opts.env,
  };
}

/** The last lines of git's stderr (the fatal one last): what a person needs. */
function lastLines(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.slice(-3).join('; ') || 'no message';
}
