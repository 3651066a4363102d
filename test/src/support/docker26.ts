import { request } from 'node:http';

/*
 * The second Docker engine of the host: Debian 13's dockerd 26 with the containerd image
 * store, which scripts/docker26.sh runs beside Debian 12's dockerd 20.10 (`make setup` runs
 * it). Tests start agents with `--docker-host` on it (AgentSpec.dockerHost). A missing or
 * different engine fails the test with a loud message; it is never skipped.
 */

/** The engine's socket; ARCHFARM_DOCKER26_SOCKET overrides it (as for the agent's push fixtures). */
export const DOCKER26_SOCKET = process.env.ARCHFARM_DOCKER26_SOCKET ?? '/run/archfarm-docker26/docker.sock';

/** For the agent's --docker-host (and DOCKER_HOST): unix:///run/archfarm-docker26/docker.sock. */
export const DOCKER26_HOST = `unix://${DOCKER26_SOCKET}`;

/** buildx's CLI plugin, which scripts/docker26.sh unpacks beside dockerd 26 (ARCHFARM_DOCKER26_CACHE as there). */
export const BUILDX_PLUGIN = `${process.env.ARCHFARM_DOCKER26_CACHE ?? '/var/cache/archfarm/docker26'}/root/usr/libexec/docker/cli-plugins/docker-buildx`;

/** What `docker info` says when images are kept in containerd. */
export const CONTAINERD_SNAPSHOTTER = 'io.containerd.snapshotter.v1';

const HINT = 'start it with scripts/docker26.sh (`make setup` runs it)';

/** What tests need to know about the engine. */
export interface Docker26Info {
  serverVersion: string;
  apiVersion: string;
  /** As `uname -m` says it: x86_64, aarch64, ... */
  architecture: string;
  /** The "driver-type" of DriverStatus: io.containerd.snapshotter.v1 on the containerd store. */
  driverType: string | undefined;
}

/** An answer of the engine's API. */
export interface Docker26Answer {
  status: number;
  body: Buffer;
}

/** One request to the engine's API (unversioned path, e.g. '/info'), over its socket. */
export function docker26Api(method: string, path: string): Promise<Docker26Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: DOCKER26_SOCKET, method, path, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The engine's info; throws, saying how to start it, unless dockerd 26 answers on
 * DOCKER26_SOCKET with the containerd image store (what the tests on it are about).
 */
export async function requireDocker26(): Promise<Docker26Info> {
  let info: Docker26Answer;
  try {
    info = await docker26Api('GET', '/info');
  } catch (err) {
    throw new Error(`\n\n*** NO DOCKER 26 ENGINE ANSWERS on ${DOCKER26_SOCKET} (${(err as Error).message}) ***\n*** ${HINT} ***\n`, { cause: err });
  }
  if (info.status !== 200) throw new Error(`the engine on ${DOCKER26_SOCKET} answered /info with HTTP ${info.status}; ${HINT}`);
  const raw = JSON.parse(info.body.toString('utf8')) as { ServerVersion: string; Architecture: string; DriverStatus?: string[][] | null };
  const version = JSON.parse((await docker26Api('GET', '/version')).body.toString('utf8')) as { ApiVersion: string };
  const found: Docker26Info = {
    serverVersion: raw.ServerVersion,
    apiVersion: version.ApiVersion,
    architecture: raw.Architecture,
    driverType: (raw.DriverStatus ?? []).find(([key]) => key === 'driver-type')?.[1],
  };
  if (!found.serverVersion.startsWith('26.') || found.driverType !== CONTAINERD_SNAPSHOTTER) {
    throw new Error(`the engine on ${DOCKER26_SOCKET} is dockerd ${found.serverVersion} with driver-type ${found.driverType ?? 'none'}, not dockerd 26 with ${CONTAINERD_SNAPSHOTTER}; ${HINT}`);
  }
  return found;
}
