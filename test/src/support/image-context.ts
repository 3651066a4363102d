import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, run } from './processes';
import { bundleAgent } from './foreign-node';

/** A build context for one of deploy/images: laid out like the repository, holding only what that image needs. */
export interface ImageContext {
  dir: string;
  /** The -f argument: deploy/images/<image>.Dockerfile inside `dir` (absolute: -f is relative to the cwd, as with docker). */
  dockerfile: string;
}

/**
 * A temp dir with `deploy/images/<image>.Dockerfile` and its `.dockerignore` beside it,
 * so `archfarm build -f ... DIR` runs exactly as `archfarm build -f ... .` would from the
 * repository root, without walking (and racing) a working tree other processes write to.
 */
async function dockerfileContext(image: 'agent' | 'coordinator'): Promise<ImageContext> {
  const dir = await mkdtemp(join(tmpdir(), `archfarm-image-${image}-`));
  const dockerfile = `deploy/images/${image}.Dockerfile`;
  for (const file of [dockerfile, `${dockerfile}.dockerignore`]) await cp(join(ROOT, file), join(dir, file));
  return { dir, dockerfile: join(dir, dockerfile) };
}

/** The agent image's context: its Dockerfile and a fresh bundle (scripts/bundle-agent.mjs). */
export async function agentImageContext(): Promise<ImageContext> {
  const ctx = await dockerfileContext('agent');
  await cp(await bundleAgent(), join(ctx.dir, 'agent/dist/bundle/archfarm-agent.cjs'));
  return ctx;
}

/**
 * The coordinator image's context for APP_SOURCE=prebuilt: its Dockerfile and
 * scripts/bundle-coordinator.mjs's output for this machine's CPU (linux/amd64 here), whose
 * better-sqlite3 is the one `npm ci` compiled for the host.
 */
export async function coordinatorImageContext(): Promise<ImageContext> {
  const ctx = await dockerfileContext('coordinator');
  const out = join(ctx.dir, 'coordinator/dist/image/linux-amd64');
  const res = await run(process.execPath, [join(ROOT, 'scripts/bundle-coordinator.mjs'), '--quiet', '--out', out]);
  if (res.code !== 0) throw new Error(`bundle-coordinator failed (${res.code}):\n${res.stderr}`);
  return ctx;
}
