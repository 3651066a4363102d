import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { memoryTree, tarArchive, type BuildContext, type TarFile } from '@archfarm/agent';
import { baseImage } from './context';
import { testRegistry } from './registry';

/*
 * Helpers for tests that drive the real Docker engine that scripts/host-setup.sh starts.
 * A missing engine is a failing test, never a skip: a green run must mean the engine code
 * really ran. Most helpers speak the engine's HTTP API directly, independently of the
 * agent's dockerode adapter under test.
 */

/** The engine's socket; override with ARCHFARM_TEST_DOCKER_SOCKET. */
export const DOCKER_SOCKET = process.env.ARCHFARM_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';

const HINT = 'start it with scripts/host-setup.sh (and scripts/test-base.sh for the base image; `make setup` runs both)';

/** What tests need to know about the engine. */
export interface DockerInfo {
  serverVersion: string;
  /** As `uname -m` says it: x86_64, aarch64, ... */
  architecture: string;
  apiVersion: string;
}

/** An answer of the engine's API. */
export interface ApiAnswer {
  status: number;
  body: Buffer;
  json<T>(): T;
}

/** One request to the Docker API (v1.41) over its socket. */
export function dockerApi(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers = payload ? { 'Content-Type': 'application/json' } : {};
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: DOCKER_SOCKET, method, path: `/v1.41${path}`, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: data, json: <T>() => JSON.parse(data.toString('utf8')) as T });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The engine's info; throws a loud error, saying how to start it, when it does not answer. */
export async function requireDocker(): Promise<DockerInfo> {
  let answer: ApiAnswer;
  try {
    answer = await dockerApi('GET', '/info');
  } catch (err) {
    throw new Error(`\n\n*** NO DOCKER ENGINE ANSWERS on ${DOCKER_SOCKET} (${(err as Error).message}) ***\n*** ${HINT} ***\n`, { cause: err });
  }
  if (answer.status !== 200) throw new Error(`the Docker engine on ${DOCKER_SOCKET} answered HTTP ${answer.status}; ${HINT}`);
  const info = answer.json<{ ServerVersion: string; Architecture: string }>();
  const version = (await dockerApi('GET', '/version')).json<{ ApiVersion: string }>();
  return { serverVersion: info.ServerVersion, architecture: info.Architecture, apiVersion: version.ApiVersion };
}

/** The base image's reference; fails loudly unless the test registry serves its index. */
export async function requireBaseImage(): Promise<string> {
  const ref = baseImage(); // throws when the registry does not answer
  const res = await fetch(`http://${testRegistry()}/v2/archfarm/base/manifests/1`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
  });
  if (res.status !== 200) throw new Error(`the test registry has no ${ref} (HTTP ${res.status}); ${HINT}`);
  return ref;
}

/** The image config fields tests check. */
export interface ImageInspect {
  Id: string;
  Architecture: string;
  Variant?: string;
  Os: string;
  Config: { Labels: Record<string, string> | null };
}

/** `docker image inspect`, or undefined when there is no such image. */
export async function inspectImage(ref: string): Promise<ImageInspect | undefined> {
  const answer = await dockerApi('GET', `/images/${encodeURIComponent(ref)}/json`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`inspect ${ref}: HTTP ${answer.status} ${answer.body.toString()}`);
  return answer.json<ImageInspect>();
}

/** Runs the image's default command in a labelled, throw-away container; resolves to its output. */
export async function runContainer(image: string, platform: string): Promise<string> {
  const created = await dockerApi('POST', `/containers/create?platform=${encodeURIComponent(platform)}`, {
    Image: image,
    Tty: true, // raw output rather than the multiplexed stream
    Labels: { [TEST_LABEL]: 'run' },
  });
  if (created.status !== 201) throw new Error(`create a container of ${image}: HTTP ${created.status} ${created.body.toString()}`);
  const { Id } = created.json<{ Id: string }>();
  try {
    await dockerApi('POST', `/containers/${Id}/start`);
    await dockerApi('POST', `/containers/${Id}/wait`);
    return (await dockerApi('GET', `/containers/${Id}/logs?stdout=1&stderr=1`)).body.toString('utf8');
  } finally {
    await dockerApi('DELETE', `/containers/${Id}?force=1`);
  }
}

/** Command lines of the host's processes that match, e.g. a RUN step's `sleep`. */
export function processesMatching(pattern: RegExp): string[] {
  return execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => pattern.test(l));
}

/** A build context of a few files for the agent's Engine.build, in both its forms. */
export function contextOf(files: TarFile[]): BuildContext {
  return { tree: () => Promise.resolve(memoryTree(files)), tar: () => Readable.from([tarArchive(files)]) };
}

/** Label on every image the cross-process tests build, so a stray one can be found. */
export const TEST_LABEL = 'io.archfarm.test';

/**
 * Builds a `FROM scratch` image with the real engine: one COPY (one layer) per file, so a
 * test gets several small layers. Returns the image ID (sha256 of its config).
 */
export async function buildScratchImage(docker: Docker, files: Record<string, string>, label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-ctx-'));
  try {
    const names = Object.keys(files);
    const dockerfile = ['FROM scratch', ...names.map((n) => `COPY ${n} /${n}`)].join('\n') + '\n';
    await writeFile(join(dir, 'Dockerfile'), dockerfile);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile', ...names] }, { labels: { [TEST_LABEL]: label }, rm: true });
    const output = await new Promise<Array<{ error?: string; aux?: { ID?: string } }>>((resolve, reject) => {
      docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res as Array<{ error?: string; aux?: { ID?: string } }>)));
    });
    const failed = output.find((o) => o.error);
    if (failed) throw new Error(`docker build failed: ${failed.error}`);
    const id = output.find((o) => o.aux?.ID)?.aux?.ID;
    if (!id) throw new Error('docker build gave no image ID');
    return id;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A container as `GET /containers/json` lists it (the fields tests check). */
export interface ContainerSummary {
  Id: string;
  State: string;
  Labels: Record<string, string>;
  HostConfig: { NetworkMode: string };
}

/** The containers, running or not, carrying `label` ("key" or "key=value"), like `docker ps -a --filter label=...`. */
export async function containersLabelled(label: string): Promise<ContainerSummary[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  const answer = await dockerApi('GET', `/containers/json?all=1&filters=${filters}`);
  if (answer.status !== 200) throw new Error(`list containers labelled ${label}: HTTP ${answer.status} ${answer.body.toString()}`);
  return answer.json<ContainerSummary[]>();
}

/** Creates and starts a labelled container of `image` running `cmd` (without network); resolves to its id. */
export async function startContainer(image: string, cmd: string[], labels: Record<string, string>): Promise<string> {
  const created = await dockerApi('POST', '/containers/create', { Image: image, Cmd: cmd, Labels: labels, HostConfig: { NetworkMode: 'none' } });
  if (created.status !== 201) throw new Error(`create a container of ${image}: HTTP ${created.status} ${created.body.toString()}`);
  const { Id } = created.json<{ Id: string }>();
  const started = await dockerApi('POST', `/containers/${Id}/start`);
  if (started.status !== 204) throw new Error(`start container ${Id}: HTTP ${started.status} ${started.body.toString()}`);
  return Id;
}
