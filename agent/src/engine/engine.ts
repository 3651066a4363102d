import type { Readable } from 'node:stream';
import type { Platform } from '@archfarm/common';

/** What the agent needs to know about its engine to advertise it. */
export interface EngineInfo {
  /** The engine's native platform, with the arm variant (armv7l -> linux/arm/v7). */
  platform: Platform;
  /** For people and logs, e.g. "docker 20.10.24 (linux/amd64)". */
  description: string;
}

/** Credentials for one registry, as the engine's X-Registry-Config wants them. */
export interface RegistryLogin {
  username: string;
  password: string;
}

/** One single-platform image build. */
export interface BuildRequest {
  /** A tar stream of the build context; called once per build. */
  context: () => Readable;
  /** Path of the Dockerfile inside the context; default "Dockerfile". */
  dockerfile?: string;
  platform: Platform;
  buildArgs: Record<string, string>;
  /** Stage to build; default the last one. */
  target?: string;
  /** Local image name, e.g. "archfarm-job/<jobid>:1". */
  tag: string;
  /** Labels put on the image; the agent passes `io.archfarm.*` here so start-up cleanup finds it. */
  labels: Record<string, string>;
  noCache?: boolean;
  /** Logins for the registries of FROM images, keyed by registry host (e.g. "reg.example:5000"). */
  pullAuth?: Record<string, RegistryLogin>;
  /** Aborting closes the request, which makes the engine stop the build (checked with dockerd 20.10). */
  signal?: AbortSignal;
  /** Readable progress lines, without line ends, in the style of `docker buildx --progress plain`. */
  onLog: (line: string) => void;
}

/** One run of a command in a fresh container of an image, e.g. the smoke test of a built image. */
export interface RunRequest {
  /** Image id or local name; it must be in the engine already (run does not pull). */
  image: string;
  /** The platform to run it as; an image of another platform is refused (ImagePlatformMismatchError). */
  platform: Platform;
  /**
   * Replaces the image's CMD, as an argv (no shell); the ENTRYPOINT stays, as with
   * `docker run IMAGE CMD...`. Empty: the image's own CMD.
   */
  command: string[];
  /** Labels put on the container, so start-up cleanup finds one left behind. */
  labels: Record<string, string>;
  /** Aborting kills the container; the run then rejects with RunCancelledError. */
  signal?: AbortSignal;
  /** Time the whole run may take, default 5 min; then its container is killed (RunTimeoutError). */
  timeoutMs?: number;
  /**
   * The command's stdout and stderr, line by line as they come, without line ends; a partial
   * last line comes at the end. Lines of the two streams are interleaved, not marked.
   */
  onLog: (line: string) => void;
}

/**
 * The agent's narrow view of a container engine. Only the Docker adapter knows the engine's
 * API, so a Podman or BuildKit adapter can come later without touching the job runner.
 * Failures are the classes in `./errors`.
 */
export interface Engine {
  info(): Promise<EngineInfo>;
  /** Builds the image and tags it `req.tag`; resolves to its id ("sha256:..."). */
  build(req: BuildRequest): Promise<{ imageId: string }>;
  /** The image as a `docker save` tar stream. */
  saveImage(imageId: string): Promise<Readable>;
  /** Removes an image by id or name, forcibly; an image that is not there is not an error. */
  removeImage(ref: string): Promise<void>;
  /**
   * Runs `req.command` once in a new container of `req.image`, without network, and resolves to
   * its exit code; a command that exits non-zero is not an error. The container is removed
   * afterwards, also on failure, timeout or abort. A command the engine cannot start (no such
   * executable) is RunNotStartedError.
   */
  run(req: RunRequest): Promise<{ exitCode: number }>;
  /** Removes the containers and images carrying the label key; resolves to how many images went. */
  removeLabelled(labelKey: string): Promise<number>;
}
