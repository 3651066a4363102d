/**
 * Test support (not used by the agent): real `docker save` output from the two engines
 * `make setup` runs, made small by the tests themselves. Talks to the Docker API over its
 * unix socket with node:http (the agent's engine adapter is the only place that uses
 * dockerode, and these tests must not depend on the adapter being rewritten beside them).
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { c as createTar } from 'tar';

export interface TestEngine {
  name: string;
  socket: string;
  /** The containerd image store: /build cannot take a posted tar (moby/moby#47717). */
  containerdStore: boolean;
}

export const DOCKER_20: TestEngine = { name: "Debian's dockerd 20.10", socket: '/var/run/docker.sock', containerdStore: false };
export const DOCKER_26: TestEngine = {
  name: 'dockerd 26 with the containerd image store (scripts/docker26.sh)',
  socket: process.env.ARCHFARM_DOCKER26_SOCKET ?? '/run/archfarm-docker26/docker.sock',
  containerdStore: true,
};
/** The loopback registry of scripts/host-setup.sh and its multi-platform base image. */
export const REGISTRY = process.env.ARCHFARM_REGISTRY_ADDR ?? '127.0.0.1:5000';
export const BASE_IMAGE = `${REGISTRY}/archfarm/base:1`;

/** Why a test cannot use the engine (for a loud skip), or false when it answers as expected. */
export async function engineMissing(engine: TestEngine): Promise<string | false> {
  try {
    const info = JSON.parse((await call(engine, 'GET', '/info')).toString('utf8')) as { DriverStatus?: string[][] };
    const store = (info.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v === 'io.containerd.snapshotter.v1');
    if (store !== engine.containerdStore) return `${engine.name} at ${engine.socket} answers, but ${store ? 'with' : 'without'} the containerd image store`;
    return false;
  } catch (err) {
    return `${engine.name} is not running at ${engine.socket} (make setup starts it): ${(err as Error).message}`;
  }
}

/** One Docker API call; the body of a non-2xx answer becomes the error. */
export async function call(engine: TestEngine, method: string, path: string, body?: Buffer): Promise<Buffer> {
  const res = await open(engine, method, path, body);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function open(engine: TestEngine, method: string, path: string, body?: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': 'application/x-tar', 'content-length': body.length } : {};
    const req = request({ socketPath: engine.socket, method, path: `/v1.41${path}`, headers, timeout: 300_000 }, (res) => {
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(new Error(`${method} ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').trim()}`)));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(body);
  });
}

/** JSON-lines progress (pull, build): the first `error` in it is thrown. */
async function progress(engine: TestEngine, method: string, path: string, body?: Buffer): Promise<string> {
  const text = (await call(engine, method, path, body)).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as { error?: string };
    if (msg.error) throw new Error(`${method} ${path}: ${msg.error}`);
  }
  return text;
}

export async function pull(engine: TestEngine, ref: string, platform?: string): Promise<void> {
  const q = new URLSearchParams({ fromImage: ref, ...(platform && { platform }) });
  await progress(engine, 'POST', `/images/create?${q.toString()}`);
}

export async function tag(engine: TestEngine, ref: string, repo: string, tagName: string): Promise<void> {
  await call(engine, 'POST', `/images/${encodeURIComponent(ref)}/tag?${new URLSearchParams({ repo, tag: tagName }).toString()}`);
}

export async function removeImage(engine: TestEngine, ref: string): Promise<void> {
  await call(engine, 'DELETE', `/images/${encodeURIComponent(ref)}?force=1`).catch(() => undefined);
}

/** `docker save` (GET /images/{ref}/get) as a stream, as the agent receives it. */
export async function save(engine: TestEngine, ref: string): Promise<Readable> {
  return open(engine, 'GET', `/images/${encodeURIComponent(ref)}/get`);
}

/** `docker save` into a file. */
export async function saveTo(engine: TestEngine, ref: string, dest: string): Promise<void> {
  await pipeline(await save(engine, ref), createWriteStream(dest));
}

/**
 * Builds `files` (a Dockerfile among them) with BuildKit as `name`. The classic store takes
 * the context as the request body; the containerd store cannot (moby/moby#47717), so there
 * the context is served from a one-shot HTTP server on the loopback and named by `remote=`.
 */
export async function build(
  engine: TestEngine,
  files: Record<string, string>,
  name: string,
  opts: { buildArgs?: Record<string, string>; noCache?: boolean } = {},
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-fixture-ctx-'));
  try {
    for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), text);
    const chunks: Buffer[] = [];
    for await (const chunk of createTar({ cwd: dir, portable: true }, Object.keys(files))) chunks.push(chunk as Buffer);
    const context = Buffer.concat(chunks);
    const q = new URLSearchParams({ version: '2', t: name, rm: '1', buildargs: JSON.stringify(opts.buildArgs ?? {}) });
    if (opts.noCache) q.set('nocache', '1');
    if (!engine.containerdStore) {
      await progress(engine, 'POST', `/build?${q.toString()}`, context);
      return;
    }
    const server = createServer((_req, res) => res.end(context));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      q.set('remote', `http://127.0.0.1:${(server.address() as AddressInfo).port}/context.tar`);
      await progress(engine, 'POST', `/build?${q.toString()}`);
    } finally {
      server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Copies `source` (one platform, in the registry) to `dest` with its layers zstd-compressed,
 * with skopeo (an independent client: decompressed to a dir, zstd into an OCI layout, then
 * pushed with its digests kept; pushed straight, skopeo would reuse the gzip blobs). The
 * layers must be new to the engine that pulls `dest`: the containerd store does not fetch a
 * layer whose snapshot it has, and then `docker save` writes an archive without its blobs.
 */
export async function pushZstdCopy(source: string, dest: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-fixture-zstd-'));
  const run = async (...args: string[]): Promise<void> => {
    await promisify(execFile)('skopeo', args, { timeout: 120_000 });
  };
  try {
    await run('copy', '--src-tls-verify=false', '--dest-decompress', `docker://${source}`, `dir:${dir}/plain`);
    await run('copy', '--dest-compress-format', 'zstd', `dir:${dir}/plain`, `oci:${dir}/oci:1`);
    await run('copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${dir}/oci:1`, `docker://${dest}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
