import { execFile } from 'node:child_process';

/**
 * The docker CLI that matches the engine: Debian's docker.io puts the 20.10 client at
 * /usr/bin/docker; it drives BuildKit itself (DOCKER_BUILDKIT=1) and has `manifest` built in.
 * The newer client on PATH (28.x) wants the buildx plugin for BuildKit, which is not here.
 */
export const DOCKER_CLI = process.env.BENCH_DOCKER_CLI ?? '/usr/bin/docker';

/** Runs `docker ARGS` to its end; rejects with its output on a non-zero exit. */
export function docker(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(DOCKER_CLI, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`docker ${args.join(' ')} failed: ${err.message}\n${stderr.slice(-3000)}`));
      else resolve(stdout);
    });
  });
}

/** The engine's and the client's versions, for the report. */
export async function dockerVersions(): Promise<{ server: string; client: string }> {
  const out = await docker(['version', '--format', '{{.Server.Version}} {{.Client.Version}}']).catch(() => 'unknown unknown');
  const [server = 'unknown', client = 'unknown'] = out.trim().split(' ');
  return { server, client };
}
