import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestFleet } from './fleet';
import { baseImage, makeContext } from './context';
import { run, type RunResult } from './processes';

/** A build state after which nothing more happens. */
export const ended = (b: { state: string }): boolean => ['published', 'failed', 'cancelled'].includes(b.state);

/**
 * A Dockerfile whose RUN step is still going `seconds` after it printed `<marker>-start`.
 * The quotes keep that text out of the step's own name line, so the log shows it only once
 * the step really runs (on every platform the build has).
 */
export function slowContext(marker: string, seconds: number): Promise<string> {
  return makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${marker}-st''art; sleep ${seconds}; echo ${marker}-do''ne\n` });
}

/** Polls `archfarm logs ID [--platform P]` until it shows `text`. */
export async function logsContain(fleet: TestFleet, id: string, text: string, platform?: string, timeoutMs = 90_000): Promise<void> {
  const args = ['logs', id, ...(platform ? ['--platform', platform] : [])];
  const deadline = Date.now() + timeoutMs;
  while (!(await fleet.cli(args)).stdout.includes(text)) {
    if (Date.now() > deadline) throw new Error(`log of ${id} ${platform ?? ''} never showed "${text}"\n${coordinatorTail(fleet)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The coordinator's last log lines, for an assertion's message. */
export function coordinatorTail(fleet: TestFleet, chars = 5000): string {
  const text = fleet.logs.filter((l) => l.startsWith('[coordinator] ')).join('');
  return `--- coordinator log (last ${chars} chars) ---\n${text.slice(-chars)}`;
}

/** A DOCKER_CONFIG dir whose config.json holds a plain `auths` entry for `registry`. */
export async function dockerConfigFor(registry: string, username: string, password: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-docker-config-'));
  await mkdir(dir, { recursive: true });
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
  return dir;
}

/** `skopeo inspect --raw` of `ref`, logged in with `creds` ("user:pass") when given. */
export function skopeoRaw(ref: string, creds?: string): Promise<RunResult> {
  return run('skopeo', ['inspect', '--tls-verify=false', '--raw', ...(creds ? ['--creds', creds] : []), `docker://${ref}`]);
}

/** sha256 of a manifest's raw bytes, as a registry names it. */
export function manifestDigest(raw: string): string {
  return `sha256:${createHash('sha256').update(Buffer.from(raw, 'utf8')).digest('hex')}`;
}

/** The platforms an image index lists, as os/arch[/variant], sorted. */
export function indexPlatforms(raw: string): string[] {
  const index = JSON.parse(raw) as { manifests?: Array<{ platform?: { os: string; architecture: string; variant?: string } }> };
  return (index.manifests ?? [])
    .flatMap((m) => (m.platform ? [[m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')] : []))
    .sort();
}

/** `archfarm build --detach ARGS` with `env` added to the CLI's; returns the build id. */
export async function submit(fleet: TestFleet, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const res = await fleet.cli(['build', '--detach', ...args], env);
  if (res.code !== 0) throw new Error(`build --detach failed (${res.code}): ${res.stderr}\n${coordinatorTail(fleet)}`);
  return res.stdout.trim();
}
