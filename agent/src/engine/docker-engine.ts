import { addAbortSignal, type Readable } from 'node:stream';
import Docker from 'dockerode';
import { Platform } from '@archfarm/common';
import { readBuildStream } from './build-stream';
import { DEFAULT_DOCKER_HOST, formatDockerHost, type DockerHost } from './docker-host';
import { engineError, ignoreGone, ignoreNotFound } from './docker-errors';
import { engineIdentity, localImageName, type EngineIdentity, type EngineProduct, type VersionAnswer } from './engine-product';
import { runContainer } from './docker-run';
import type { BuildRequest, Engine, EngineInfo, RegistryLogin, RunRequest } from './engine';
import { BuildCancelledError, EngineUnavailableError } from './errors';

/** Options of {@link DockerEngine}. */
export interface DockerEngineOptions {
  /** Where the Docker API listens; default unix:///var/run/docker.sock. */
  host?: DockerHost;
  /** How long a short request (info, list, remove) may take; default 30 s. Builds and runs are not limited by it. */
  requestTimeoutMs?: number;
}

/** dockerode's code takes an abort signal on info() and version(); its type declarations do not say so. */
type WithSignal<T> = (options: { abortSignal: AbortSignal }) => Promise<T>;
interface RawInfo {
  Architecture: string;
  ServerVersion?: string;
}

/** Docker Hub's key in auth maps: dockerd looks its credentials up under this legacy URL. */
const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The {@link Engine} on a Docker API (dockerd 20.10+, or Podman's compatible service).
 * On dockerd, builds go through the engine's BuildKit (`version=2`), so no buildx is needed
 * on the build machine. Podman builds with its own buildah, and its progress comes as
 * `{"stream": ...}` lines, which the same reader turns into log lines.
 */
export class DockerEngine implements Engine {
  private readonly docker: Docker;
  private readonly requestTimeoutMs: number;
  /** Asked once (and again after a failure): an engine does not change behind its socket. */
  private identity: Promise<EngineIdentity> | undefined;
  readonly host: DockerHost;

  constructor(options: DockerEngineOptions = {}) {
    this.host = options.host ?? DEFAULT_DOCKER_HOST;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.docker =
      this.host.kind === 'unix'
        ? new Docker({ socketPath: this.host.socketPath })
        : new Docker({ host: this.host.host, port: this.host.port, protocol: 'http' });
  }

  async info(): Promise<EngineInfo> {
    const [info, identity] = await Promise.all([
      this.quick('engine info', (abortSignal) => (this.docker.info as WithSignal<RawInfo>).call(this.docker, { abortSignal })),
      this.engineIdentity(),
    ]);
    // The kernel's name (armv7l) keeps the arm variant that /version's GOARCH ("arm") drops.
    const platform = Platform.fromUname(info.Architecture);
    const description = `${identity.product} ${info.ServerVersion ?? identity.version} (${platform.toString()}) at ${formatDockerHost(this.host)}`;
    return { platform, description };
  }

  /** dockerd or Podman, from the engine's /version. */
  private async product(): Promise<EngineProduct> {
    return (await this.engineIdentity()).product;
  }

  async build(req: BuildRequest): Promise<{ imageId: string }> {
    const { signal } = req;
    if (signal?.aborted) throw new BuildCancelledError('build cancelled before it started', { cause: signal.reason });
    const product = await this.product();
    const context = req.context();
    try {
      const response = (await this.docker.buildImage(context, buildOptions(req, product))) as Readable;
      // docker-modem hands the signal to the request only; the response needs it too, or an abort
      // after the headers would leave the build running (closing the socket is what stops BuildKit).
      // Podman 4.3 ignores the closed socket: its build runs on and commits (labelled, so the
      // agent's start-up cleanup finds it); stopping the service is the only way to end it.
      if (signal) addAbortSignal(signal, response);
      return { imageId: await readBuildStream(response, req.onLog) };
    } catch (err) {
      context.destroy(); // a build that failed early leaves the context (maybe a file) unread
      if (signal?.aborted) throw new BuildCancelledError('build cancelled', { cause: signal.reason });
      throw engineError(err, 'build');
    }
  }

  async saveImage(imageId: string): Promise<Readable> {
    try {
      return (await this.docker.getImage(imageId).get()) as Readable;
    } catch (err) {
      throw engineError(err, `save image ${imageId}`);
    }
  }

  async removeImage(ref: string): Promise<void> {
    const name = localImageName(ref, await this.product());
    await this.quick(`remove image ${ref}`, (abortSignal) =>
      this.docker.getImage(name).remove({ force: true, abortSignal }).catch(ignoreNotFound),
    );
  }

  run(req: RunRequest): Promise<{ exitCode: number }> {
    return runContainer(this.docker, this.quick.bind(this), req);
  }

  async removeLabelled(labelKey: string): Promise<number> {
    const filters = JSON.stringify({ label: [labelKey] });
    const action = `remove objects labelled ${labelKey}`;
    // Containers first: an image a container still uses cannot go.
    const containers = await this.quick(action, (abortSignal) => this.docker.listContainers({ all: true, filters, abortSignal }));
    for (const c of containers) {
      await this.quick(action, () => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone));
    }
    const images = await this.quick(action, (abortSignal) => this.docker.listImages({ all: true, filters, abortSignal }));
    for (const image of images) await this.removeImage(image.Id);
    return images.length;
  }

  private engineIdentity(): Promise<EngineIdentity> {
    this.identity ??= this.quick('engine version', (abortSignal) =>
      (this.docker.version as WithSignal<VersionAnswer>).call(this.docker, { abortSignal }),
    ).then(engineIdentity, (err: unknown) => {
      this.identity = undefined;
      throw err;
    });
    return this.identity;
  }

  /** A short request, bounded in time, its failure classified. */
  private async quick<T>(action: string, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const abortSignal = AbortSignal.timeout(this.requestTimeoutMs);
    // Some dockerode calls (image inspect) drop the signal; the race bounds them too.
    let onAbort = (): void => undefined;
    const timedOut = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortSignal.reason as Error);
      abortSignal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([call(abortSignal), timedOut]);
    } catch (err) {
      if (abortSignal.aborted) {
        throw new EngineUnavailableError(`${action}: the engine did not answer within ${this.requestTimeoutMs} ms`, undefined, { cause: err });
      }
      throw engineError(err, action);
    } finally {
      abortSignal.removeEventListener('abort', onAbort);
    }
  }
}

function buildOptions(req: BuildRequest, product: EngineProduct): Docker.ImageBuildOptions {
  const options: Docker.ImageBuildOptions = {
    platform: req.platform.toString(),
    t: localImageName(req.tag, product),
    dockerfile: req.dockerfile ?? 'Dockerfile',
    buildargs: req.buildArgs,
    labels: req.labels,
    nocache: req.noCache ?? false,
  };
  // dockerode opens a BuildKit session (POST /session) for version 2, which Podman does not
  // serve (404); Podman builds with buildah whatever the version says.
  if (product === 'docker') options.version = '2';
  if (req.target !== undefined) options.target = req.target;
  if (req.signal !== undefined) options.abortSignal = req.signal;
  if (req.pullAuth !== undefined && Object.keys(req.pullAuth).length > 0) options.registryconfig = registryConfig(req.pullAuth);
  return options;
}

function registryConfig(logins: Record<string, RegistryLogin>): Docker.RegistryConfig {
  const config: Docker.RegistryConfig = {};
  for (const [registry, login] of Object.entries(logins)) {
    const key = DOCKER_HUB_NAMES.has(registry) ? DOCKER_HUB_AUTH_KEY : registry;
    config[key] = { username: login.username, password: login.password };
  }
  return config;
}
