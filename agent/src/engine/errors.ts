import { ArchfarmError } from '@archfarm/common';

/**
 * The build itself failed: the Dockerfile, a RUN step, a missing FROM image. Retrying on
 * another agent would fail the same way, so the coordinator does not retry it.
 */
export class BuildFailedError extends ArchfarmError {
  readonly code = 'BUILD_FAILED';
  readonly kind = 'build';
  /** `message` is the engine's own error text, e.g. "executor failed running [...]: exit code: 1". */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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
