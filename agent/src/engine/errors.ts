import { ArchfarmError } from '@archfarm/common';

/** Causes that are the build's own, and what each says before the engine's text. */
export type BuildFailureReason = 'build-step' | 'missing-file' | 'dockerfile-invalid' | 'build-other';

const BUILD_FAILURE_SAYS: Readonly<Record<BuildFailureReason, string>> = {
  'build-step': 'a build step failed: ',
  'missing-file': 'a file the Dockerfile copies is not in the build context (check the path and .dockerignore): ',
  'dockerfile-invalid': 'the Dockerfile is not valid: ',
  'build-other': '',
};

/**
 * The build itself failed: a RUN step, a COPY of a missing file, a Dockerfile error. Retrying
 * on another agent would fail the same way, so the coordinator does not retry it.
 */
export class BuildFailedError extends ArchfarmError {
  readonly code = 'BUILD_FAILED';
  readonly kind = 'build';
  /**
   * `detail` is the engine's own error text, e.g. "executor failed running [...]: exit code: 1";
   * the message puts what it means (`reason`) in front.
   */
  constructor(
    readonly detail: string,
    readonly reason: BuildFailureReason = 'build-other',
    options?: { cause?: unknown },
  ) {
    super(`${BUILD_FAILURE_SAYS[reason]}${detail}`, options);
  }
}

/** The build was stopped because its AbortSignal fired; the engine's request was closed. */
export class BuildCancelledError extends ArchfarmError {
  readonly code = 'BUILD_CANCELLED';
  // Not 'infrastructure': a cancelled build must not be retried.
  readonly kind = 'build';
  constructor(message = 'build cancelled', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The engine cannot be reached (socket missing, connection refused) or answered with a
 * server error. Another attempt, maybe elsewhere, may succeed.
 */
export class EngineUnavailableError extends ArchfarmError {
  readonly code = 'ENGINE_UNAVAILABLE';
  readonly kind = 'infrastructure';
  constructor(
    message: string,
    /** The HTTP status when the engine answered, undefined when it could not be reached. */
    readonly statusCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The engine refused a request (a 4xx other than "not found" where that is fine). */
export class EngineRequestError extends ArchfarmError {
  readonly code = 'ENGINE_REQUEST_REFUSED';
  readonly kind = 'infrastructure';
  constructor(
    message: string,
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No probe program exists for this CPU, so the agent cannot test whether it builds it. */
export class UnprobeablePlatformError extends ArchfarmError {
  readonly code = 'PLATFORM_NOT_PROBEABLE';
  readonly kind = 'input';
  constructor(
    readonly platform: string,
    known: readonly string[],
  ) {
    super(`no probe program for ${platform}; archfarm can probe ${known.join(', ')}`);
  }
}

/**
 * The engine could not start the command in the image: no such executable, not executable, no
 * command at all. It would fail the same way anywhere, so it is not retried.
 */
export class RunNotStartedError extends ArchfarmError {
  readonly code = 'RUN_NOT_STARTED';
  readonly kind = 'build';
  constructor(
    readonly image: string,
    readonly command: readonly string[],
    /** Why, in the engine's words, e.g. `exec: "nope": executable file not found in $PATH`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot run ${JSON.stringify(command)} in ${image}: ${reason}`, options);
  }
}

/** The command ran longer than its time limit; its container was killed. */
export class RunTimeoutError extends ArchfarmError {
  readonly code = 'RUN_TIMEOUT';
  readonly kind = 'build';
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`the command did not finish within ${timeoutMs} ms; its container was killed`, options);
  }
}

/** The run was stopped because its AbortSignal fired; its container was killed. */
export class RunCancelledError extends ArchfarmError {
  readonly code = 'RUN_CANCELLED';
  // Not 'infrastructure': a cancelled job must not be retried.
  readonly kind = 'build';
  constructor(message = 'run cancelled', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The image is not of the platform it was to be run as (e.g. a Dockerfile whose last stage is
 * `FROM --platform=$BUILDPLATFORM`). The engine's own check lets some through (it runs an
 * arm/v7 image when asked for linux/arm64), so a smoke run would prove nothing.
 */
export class ImagePlatformMismatchError extends ArchfarmError {
  readonly code = 'IMAGE_PLATFORM_MISMATCH';
  readonly kind = 'build';
  constructor(
    readonly image: string,
    readonly wanted: string,
    readonly actual: string,
  ) {
    super(`image ${image} is ${actual}, not ${wanted}`);
  }
}

/** A file of a build context that the engine asked for cannot be served (it is not inside the context). */
export class ContextUnreadableError extends ArchfarmError {
  readonly code = 'CONTEXT_UNREADABLE';
  readonly kind = 'build';
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot send ${JSON.stringify(path)} of the build context: ${reason}`, options);
  }
}

/** The engine answered POST /session without upgrading: it serves no BuildKit sessions, which the agent reads the context through. */
export class SessionRefusedError extends ArchfarmError {
  readonly code = 'ENGINE_SESSION_REFUSED';
  readonly kind = 'infrastructure';
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/**
 * The build asks for `--secret` values, and this engine (Podman's Docker API) takes no BuildKit
 * session to hand them over by. Not retried here; the build can go to an agent on dockerd.
 */
export class SecretsUnsupportedError extends ArchfarmError {
  readonly code = 'ENGINE_SECRETS_UNSUPPORTED';
  readonly kind = 'build';
  constructor(readonly ids: string[]) {
    super(`this agent's engine (Podman) cannot take --secret (${ids.join(', ')}): it serves no BuildKit session; build on agents with dockerd (--require-label)`);
  }
}

/** Where a registry fault happened, for messages: the FROM image's registry, named when the engine's text names it. */
function fromRegistry(registry: string | undefined): string {
  return registry === undefined ? 'the registry of a FROM image' : `the FROM image's registry ${registry}`;
}

const RETRIED = 'archfarm retries the job with backoff';

/** The FROM image's registry refused or dropped the connection (down, restarting, unreachable from the engine). */
export class BaseImageUnreachableError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_UNREACHABLE';
  readonly kind = 'infrastructure';
  constructor(
    readonly registry: string | undefined,
    /** The engine's own words. */
    readonly detail: string,
  ) {
    super(`${fromRegistry(registry)} cannot be reached (${detail}); ${RETRIED}; if it persists, check that the registry runs and that this agent's engine can reach it`);
  }
}

/** The FROM image's registry did not answer in time (the engine gave up waiting). */
export class BaseImageTimeoutError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_TIMEOUT';
  readonly kind = 'infrastructure';
  constructor(
    readonly registry: string | undefined,
    readonly detail: string,
  ) {
    super(`${fromRegistry(registry)} did not answer in time (${detail}); ${RETRIED}; if it persists, check the registry's load and the network between it and this agent`);
  }
}

/** The FROM image's registry answered 429 or 5xx: rate-limited or overloaded. */
export class BaseImageRegistryOverloadedError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_REGISTRY_OVERLOADED';
  readonly kind = 'infrastructure';
  constructor(
    readonly registry: string | undefined,
    readonly detail: string,
  ) {
    super(`${fromRegistry(registry)} is rate-limiting or overloaded (${detail}); ${RETRIED}; if it persists, log in for a higher pull limit or use a mirror`);
  }
}

/** The FROM image's registry refused access (401/403): credentials are missing or not allowed to pull. Retrying will not help. */
export class BaseImageDeniedError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_DENIED';
  readonly kind = 'input';
  constructor(
    readonly registry: string | undefined,
    readonly detail: string,
  ) {
    const login = registry === undefined ? '`archfarm registry login REGISTRY`' : `\`archfarm registry login ${registry}\``;
    super(`${fromRegistry(registry)} refused to let this build pull (${detail}); give credentials that may pull there (${login}, or a docker config with them)`);
  }
}

/** The FROM image is not in its registry (no such repository or tag): the Dockerfile's to fix. */
export class BaseImageNotFoundError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_NOT_FOUND';
  readonly kind = 'build';
  constructor(readonly detail: string) {
    super(`a FROM image does not exist (${detail}); check its name and tag in the Dockerfile, or push it first`);
  }
}

/** A disk the build writes to is full: the engine's image store, or the agent's state dir. Another agent may have room. */
export class DiskFullError extends ArchfarmError {
  readonly code = 'DISK_FULL';
  readonly kind = 'infrastructure';
  constructor(
    /** Which disk: "the engine's image store" or "the agent's state dir". */
    readonly where: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${where} is full (${detail}); ${RETRIED}, maybe elsewhere; free space on that machine (e.g. \`docker system prune\`, \`podman system prune\`)`, options);
  }
}

/**
 * The agent could not write in its own state dir (log spool, contexts, push scratch): a
 * read-only remount after a disk error, a wrong owner, a path that is not a directory. Not the
 * build's fault: another attempt, maybe on another agent, may succeed.
 */
export class StateDirUnwritableError extends ArchfarmError {
  readonly code = 'STATE_DIR_UNWRITABLE';
  readonly kind = 'infrastructure';
  constructor(
    readonly stateDir: string,
    /** The file or directory the agent was writing. */
    readonly path: string,
    /** Node's errno code, e.g. EROFS, EACCES, ENOTDIR. */
    readonly errno: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`the agent's state dir ${stateDir} is not writable (${errno}: ${detail}, writing ${path}); ${RETRIED}, maybe elsewhere; check that machine's disk and mounts`, options);
  }
}
