import { constants } from 'node:os';
import { ArchfarmError } from '@archfarm/common';
import { InterruptedError } from './errors';

/** Exit statuses of `archfarm`; scripts rely on them, so they never change meaning. */
export const ExitCode = {
  ok: 0,
  /** The build failed or was cancelled, or the coordinator answered with an error. */
  failure: 1,
  /** Bad input: a flag, argument or file; nothing was (or should have been) started. */
  badInput: 2,
  /** The coordinator could not be reached (or, while following a build, not for 10 minutes). */
  unreachable: 3,
  /** The build was published without some platforms (`build --allow-partial`). */
  publishedPartially: 4,
  /**
   * Not allowed: the coordinator refused the token (unknown, expired) or its role (a viewer
   * submitting a build), or the coordinator could not prove it is the one this CLI trusts.
   */
  notAllowed: 5,
  /** `cancel` of a build whose index was already written: nothing was cancelled. */
  alreadyPublished: 6,
} as const;

/**
 * Exit status per stable error code; codes not listed exit with {@link ExitCode.failure}
 * (BUILD_NOT_FOUND and AGENT_NOT_FOUND among them, as `docker inspect` of an unknown id exits 1).
 */
const BY_CODE: Readonly<Record<string, number>> = {
  INVALID_INPUT: ExitCode.badInput,
  REQUEST_REJECTED: ExitCode.badInput,
  USAGE: ExitCode.badInput,
  CONFIG_INVALID: ExitCode.badInput,
  DOCKER_CONFIG_INVALID: ExitCode.badInput,
  CREDENTIAL_HELPER_FAILED: ExitCode.badInput,
  NO_CA: ExitCode.badInput,
  NO_TOKEN: ExitCode.badInput,
  PEM_INVALID: ExitCode.badInput,
  COORDINATOR_UNREACHABLE: ExitCode.unreachable,
  COORDINATOR_LOST: ExitCode.unreachable,
  CA_DISCOVERY_FAILED: ExitCode.unreachable,
  NOT_ALLOWED: ExitCode.notAllowed,
  COORDINATOR_UNTRUSTED: ExitCode.notAllowed,
  CA_FINGERPRINT_MISMATCH: ExitCode.notAllowed,
  CA_CHAIN_INVALID: ExitCode.notAllowed,
  PUBLISHED_PARTIALLY: ExitCode.publishedPartially,
  BUILD_ALREADY_PUBLISHED: ExitCode.alreadyPublished,
};

/** The exit status for anything a command threw. */
export function exitCodeFor(err: unknown): number {
  // Shells report death by signal N as 128+N; we exit the same way after cleaning up.
  if (err instanceof InterruptedError) return 128 + (constants.signals[err.signal] ?? 2);
  if (err instanceof ArchfarmError) return BY_CODE[err.code] ?? ExitCode.failure;
  return ExitCode.failure;
}
