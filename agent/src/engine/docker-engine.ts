import { posix } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import Docker from 'dockerode';
import { Platform } from '@archfarm/common';
import { readBuildStream } from './build-stream';
import { DEFAULT_DOCKER_HOST, formatDockerHost, type DockerHost } from './docker-host';
import { engineError, ignoreGone, ignoreNotFound } from './docker-errors';
import { engineIdentity, localImageName, type EngineIdentity, type EngineProduct, type VersionAnswer } from './engine-product';
import { runContainer } from './docker-run';
import type { BaseImage, BuildRequest, Engine, EngineInfo, LocalImage, RegistryLogin, RunRequest } from './engine';
import { BuildCancelledError, EngineUnavailableError, SecretsUnsupportedError } from './errors';
import { failureError } from './failure-error';
import { openSession, type HostLogin } from './session/session';

/** Options of {@link DockerEngine}. */
export interface DockerEngineOptions {
  /** Where the Docker API listens; default unix:///var/run/docker.sock. */
  host?: DockerHost;
  /** How long a short request (info, list, remove) may take; default 30 s. Builds and runs are not limited by it. */
  requestTimeoutMs?: number;
  /** How long a FROM image's registry may leave a lookup unanswered before the build fails as BASE_IMAGE_TIMEOUT; default 60 s. */
  resolveTimeoutMs?: number;
}

/** dockerode's code takes an abort signal on info() and version(); its type declarations do not say so. */
type WithSignal<T> = (options: { abortSignal: AbortSignal }) => Promise<T>;
interface RawInfo {
  Architecture: string;
  ServerVersion?: string;
  KernelVersion?: string;
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
  private readonly resolveTimeoutMs: number | undefined;
  /** Asked once (and again after a failure): an engine does not change behind its socket. */
  private identity: Promise<EngineIdentity> | undefined;
  readonly host: DockerHost;

  constructor(options: DockerEngineOptions = {}) {
    this.host = options.host ?? DEFAULT_DOCKER_HOST;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.resolveTimeoutMs = options.resolveTimeoutMs;
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
    const facts = { name: identity.product, version: info.ServerVersion ?? identity.version, cpu: info.Architecture, kernel: info.KernelVersion ?? '' };
    return { platform, description, facts };
  }

  /** dockerd or Podman, from the engine's /version. */
  private async product(): Promise<EngineProduct> {
    return (await this.engineIdentity()).product;
  }

  async build(req: BuildRequest): Promise<{ imageId: string; bases: BaseImage[] }> {
    const { signal } = req;
    if (signal?.aborted) throw new BuildCancelledError('build cancelled before it started', { cause: signal.reason });
    const product = await this.product();
    try {
      const response = product === 'docker' ? await this.buildInSession(req) : await this.buildFromTar(req);
      // docker-modem hands the signal to the request only; the response needs it too, or an abort
      // after the headers would leave the build running (closing the socket is what stops BuildKit).
      // Podman 4.3 ignores the closed socket: its build runs on and commits (named archfarm-job/...,
      // so the agent's start-up cleanup finds it); stopping the service is the only way to end it.
      if (signal) addAbortSignal(signal, response);
      return await readBuildStream(response, req.onLog, { failed: (text) => this.buildFailure(text), resolveTimeoutMs: this.resolveTimeoutMs });
    } catch (err) {
      if (signal?.aborted) throw new BuildCancelledError('build cancelled', { cause: signal.reason });
      throw engineError(err, 'build');
    }
  }

  /**
   * The engine's error text as a typed error. An engine that is stopping kills the step it runs
   * and may report that like a failing RUN (Podman: "exit status 1"), so it is asked whether it
   * is still there before the text is believed.
   */
  private async buildFailure(text: string): Promise<Error> {
    const engineAnswers = await this.quick('engine ping', (abortSignal) => (this.docker.ping as WithSignal<unknown>).call(this.docker, { abortSignal })).then(
      () => true,
      () => false,
    );
    return failureError({ text }, { stage: 'build', engineAnswers });
  }

  /**
   * dockerd (20.10 to 29, either image store): BuildKit reads the context, the pull credentials
   * and the secrets from a session of ours, as with `docker build` / buildx. Posting a tar is
   * broken on the containerd image store (moby/moby#47717).
   */
  private async buildInSession(req: BuildRequest): Promise<Readable> {
    const dockerfile = req.dockerfile ?? 'Dockerfile';
    const session = await openSession({
      host: this.host,
      tree: await req.context.tree(),
      dockerfileDir: posix.dirname(dockerfile) === '.' ? '' : posix.dirname(dockerfile),
      logins: hostLogins(req.pullAuth ?? {}),
      secrets: req.secrets ?? new Map(),
      sharedKey: req.contextKey,
    });
    try {
      const options = { ...buildQuery(req, 'docker'), version: '2', session: session.id, remote: 'client-session', dockerfile: posix.basename(dockerfile) };
      const response = await this.dialBuild(options, req.signal);
      response.once('close', () => session.close());
      return response;
    } catch (err) {
      session.close();
      throw err;
    }
  }

  /** Podman builds with buildah from a tar body; it serves no BuildKit sessions (404). */
  private async buildFromTar(req: BuildRequest): Promise<Readable> {
    // Without a session there is no way to hand a secret over but a build arg, which is what --secret must never be.
    if (req.secrets !== undefined && req.secrets.size > 0) throw new SecretsUnsupportedError([...req.secrets.keys()]);
    const context = req.context.tar();
    try {
      const options: Docker.ImageBuildOptions = { ...buildQuery(req, 'podman'), dockerfile: req.dockerfile ?? 'Dockerfile' };
      if (req.signal !== undefined) options.abortSignal = req.signal;
      if (req.pullAuth !== undefined && Object.keys(req.pullAuth).length > 0) options.registryconfig = registryConfig(req.pullAuth);
      return (await this.docker.buildImage(context, options)) as Readable;
    } catch (err) {
      context.destroy(); // a build that failed early leaves the context (maybe a file) unread
      throw err;
    }
  }

  /**
   * POST /build with an empty body (the context comes through the session). Not dockerode's
   * buildImage: for version 2 it opens a session of its own (credentials only, one login for
   * every host) and puts that session's id in the request. An empty stream as the body, as
   * docker-modem otherwise sends the query as a JSON body.
   */
  private dialBuild(options: Record<string, unknown>, signal: AbortSignal | undefined): Promise<Readable> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path: '/build?', method: 'POST', options, file: Readable.from([]), isStream: true, abortSignal: signal, statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' } },
        (err: unknown, stream: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(stream as Readable)),
      );
    });
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

  async removeLeftovers(label: string, imagePrefix: string): Promise<number> {
    const action = `remove leftovers (containers labelled ${label}, images ${imagePrefix}*)`;
    // Containers first: an image a container still uses cannot go.
    const filters = JSON.stringify({ label: [label] });
    const containers = await this.quick(action, (abortSignal) => this.docker.listContainers({ all: true, filters, abortSignal }));
    for (const c of containers) {
      await this.quick(action, () => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone));
    }
    // Images are found by name: a label would land in the published image config.
    const prefix = localImageName(imagePrefix, await this.product());
    const images = await this.quick(action, (abortSignal) => this.docker.listImages({ abortSignal }));
    const names = images.flatMap((i) => (i.RepoTags ?? []).filter((t) => t.startsWith(prefix)));
    for (const name of names) await this.removeImage(name);
    return names.length;
  }

  async listImages(imagePrefix: string): Promise<LocalImage[]> {
    const prefix = localImageName(imagePrefix, await this.product());
    const images = await this.quick(`list images ${imagePrefix}*`, (abortSignal) => this.docker.listImages({ abortSignal }));
    return images.flatMap((i) => (i.RepoTags ?? []).filter((t) => t.startsWith(prefix)).map((ref) => ({ ref, createdMs: i.Created * 1000, bytes: i.Size })));
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

/** The /build query both routes share. */
function buildQuery(req: BuildRequest, product: EngineProduct): Docker.ImageBuildOptions {
  const options: Docker.ImageBuildOptions = {
    platform: req.platform.toString(),
    t: localImageName(req.tag, product),
    buildargs: req.buildArgs,
    labels: req.labels,
    nocache: req.noCache ?? false,
    pull: req.pull ?? false,
  };
  if (req.target !== undefined) options.target = req.target;
  return options;
}

/** BuildKit asks by registry host; Docker Hub's credentials answer for all its names. */
function hostLogins(logins: Record<string, RegistryLogin>): Map<string, HostLogin> {
  const out = new Map<string, HostLogin>();
  for (const [registry, login] of Object.entries(logins)) {
    const names = DOCKER_HUB_NAMES.has(registry) ? [...DOCKER_HUB_NAMES] : [registry];
    for (const name of names) out.set(name, { username: login.username, password: login.password });
  }
  return out;
}

function registryConfig(logins: Record<string, RegistryLogin>): Docker.RegistryConfig {
  const config: Docker.RegistryConfig = {};
  for (const [registry, login] of Object.entries(logins)) {
    const key = DOCKER_HUB_NAMES.has(registry) ? DOCKER_HUB_AUTH_KEY : registry;
    config[key] = { username: login.username, password: login.password };
  }
  return config;
}
