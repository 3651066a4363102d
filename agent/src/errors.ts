import { ArchfarmError } from '@archfarm/common';

/** The context the coordinator sent does not hash to the digest the job names. */
export class ContextCorruptError extends ArchfarmError {
  readonly code = 'CONTEXT_CORRUPT';
  readonly kind = 'infrastructure';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`fetched context hashes to ${actual}, not ${expected}`);
  }
}

/** The agent could build none of the platforms it was asked to serve. */
export class NothingToServeError extends ArchfarmError {
  readonly code = 'NOTHING_TO_SERVE';
  readonly kind = 'input';
}

/** An Assign arrived while every slot is busy. */
export class NoFreeSlotError extends ArchfarmError {
  readonly code = 'NO_FREE_SLOT';
  readonly kind = 'infrastructure';
}

/** The smoke command exited non-zero in the built image: the image is not pushed. */
export class SmokeTestFailedError extends ArchfarmError {
  readonly code = 'SMOKE_TEST_FAILED';
  readonly kind = 'build';
  constructor(
    readonly platform: string,
    readonly command: string[],
    readonly exitCode: number,
  ) {
    super(`smoke test \`${command.join(' ')}\` exited ${exitCode} on ${platform}; the image was not published`);
  }
}

/** The reason a dropped attempt's work was aborted with: it is no longer this agent's. */
export class AttemptDroppedError extends ArchfarmError {
  readonly code = 'ATTEMPT_DROPPED';
  // Never reported (the coordinator has moved the attempt), so its kind only matters in logs.
  readonly kind = 'infrastructure';
  constructor(
    readonly jobId: string,
    readonly attempt: number,
    readonly why: string,
  ) {
    super(`job ${jobId} attempt ${attempt} dropped: ${why}`);
  }
}
