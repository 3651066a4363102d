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
  /** Removes the containers and images carrying the label key; resolves to how many images went. */
  removeLabelled(labelKey: string): Promise<number>;
}
