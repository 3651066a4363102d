import type { Readable } from 'node:stream';
import type { Platform } from '@archfarm/common';
import type { ContextTree } from './session/context-tree';

/** What the agent needs to know about its engine to advertise it. */
export interface EngineInfo {
  /** The engine's native platform, with the arm variant (armv7l -> linux/arm/v7). */
  platform: Platform;
  /** For people and logs, e.g. "docker 20.10.24 (linux/amd64)". */
  description: string;
  /** What provenance records of the engine and its machine; absent from engines that do not say. */
  facts?: EngineFacts;
}

/** The engine and the machine it runs on, as the engine reports them ("" where it does not). */
export interface EngineFacts {
  /** "docker" or "podman". */
  name: string;
  version: string;
  /** The machine's `uname -m` (e.g. "aarch64"): the CPU that ran the build, not the agent's. */
  cpu: string;
  kernel: string;
}

/** Credentials for one registry, as the engine's X-Registry-Config wants them. */
export interface RegistryLogin {
  username: string;
  password: string;
}

/** A FROM image as the engine resolved it. */
export interface BaseImage {
  ref: string;
  digest: string;
}

/**
 * A build context, in the two forms engines take it: files for BuildKit's session (dockerd),
 * one tar stream for engines without sessions (Podman).
 */
export interface BuildContext {
  tree(): Promise<ContextTree>;
  /** Called at most once per build. */
  tar(): Readable;
}

/** One single-platform image build. */
export interface BuildRequest {
  context: BuildContext;
  /**
   * Key of the context's content (its digest): BuildKit keeps a copy of the files it was sent
   * under this key and asks only for the ones that changed.
   */
  contextKey: string;
  /** Path of the Dockerfile inside the context; default "Dockerfile". */
  dockerfile?: string;
  platform: Platform;
  buildArgs: Record<string, string>;
  /** Stage to build; default the last one. */
  target?: string;
  /** Local image name, e.g. "archfarm-job/<jobid>:1". */
  tag: string;
  /** Labels of the image config: only the user's (`--label`); the farm puts nothing of its own there. */
  labels: Record<string, string>;
  noCache?: boolean;
  /** Resolve every FROM image afresh (`--pull`). */
  pull?: boolean;
  /** `RUN --mount=type=secret,id=ID` values, served through the session only (never build args). */
  secrets?: ReadonlyMap<string, Buffer>;
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
  /** Builds the image and tags it `req.tag`; resolves to its id ("sha256:...") and the FROM images it used. */
  build(req: BuildRequest): Promise<{ imageId: string; bases: BaseImage[] }>;
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
  /** Removes the containers carrying the label (KEY=VALUE) and the images named under `imagePrefix` ("archfarm-job/pi-1/"); resolves to how many images went. */
  removeLeftovers(label: string, imagePrefix: string): Promise<number>;
  /** The images named under `imagePrefix`, for the pruner. Optional: an engine without it is not pruned. */
  listImages?(imagePrefix: string): Promise<LocalImage[]>;
}

/** An image the agent made, as the engine lists it. */
export interface LocalImage {
  /** The name it has ("archfarm-job/pi-1/<job>:<attempt>", perhaps with the engine's own prefix). */
  ref: string;
  createdMs: number;
  bytes: number;
}
