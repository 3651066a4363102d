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
