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
  /** `verify`: a platform's provenance did not check out, or a --require-native platform was not native. */
  notVerified: 7,
} as const;

/** SIGINT's status (128+2), as shells report death by Ctrl-C; SIGTERM's is 143. */
const INTERRUPTED = 130;

/**
 * What each exit status means, for `archfarm --help` and README's table (a test checks that
 * README says the same): the one place the words live.
 */
export const EXIT_STATUS_MEANINGS: readonly (readonly [status: number, meaning: string])[] = [
  [ExitCode.ok, 'ok'],
  [ExitCode.failure, 'failed: the build failed or was cancelled, or the coordinator answered an error'],
  [ExitCode.badInput, 'bad input: a flag, argument or file; nothing was started'],
  [ExitCode.unreachable, 'the coordinator could not be reached (or, following a build, not for 10 minutes)'],
  [ExitCode.publishedPartially, 'published without some platforms (`build --allow-partial`)'],
  [ExitCode.notAllowed, 'not allowed: token unknown or expired, role not permitted, or the coordinator failed the TLS check'],
  [ExitCode.alreadyPublished, '`cancel` too late: the build was already published'],
  [ExitCode.notVerified, '`verify` failed: a signature missing or wrong, a statement not its image\'s, or a `--require-native` platform not built natively'],
  [INTERRUPTED, 'interrupted (Ctrl-C; 143 for SIGTERM)'],
];

/** The "Exit status:" section of `archfarm --help`. */
export function exitStatusHelp(): string {
  return ['Exit status:', ...EXIT_STATUS_MEANINGS.map(([status, meaning]) => `  ${String(status).padEnd(4)}${meaning}`)].join('\n');
}

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
  VERIFY_KEY_INVALID: ExitCode.badInput,
  PROVENANCE_KEY_UNSUPPORTED: ExitCode.badInput,
  VERIFICATION_FAILED: ExitCode.notVerified,
  NOT_AN_INDEX: ExitCode.notVerified,
};

/** The exit status for anything a command threw. */
export function exitCodeFor(err: unknown): number {
  // Shells report death by signal N as 128+N; we exit the same way after cleaning up.
  if (err instanceof InterruptedError) return 128 + (constants.signals[err.signal] ?? 2);
  if (err instanceof ArchfarmError) return BY_CODE[err.code] ?? ExitCode.failure;
  return ExitCode.failure;
}
