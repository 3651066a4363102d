import { ArchfarmError } from '@archfarm/common';
import type { ErrorInfo } from '@archfarm/proto';

/**
 * The CLI's own failure conditions, one class per condition with a stable `code`.
 * Bad user input reuses {@link InvalidInputError} from @archfarm/common; exit statuses
 * are assigned in one place, `exit-codes.ts`.
 */

/** The coordinator did not answer: refused, unresolvable, or silent past the deadline. */
export class CoordinatorUnreachableError extends ArchfarmError {
  readonly code = 'COORDINATOR_UNREACHABLE';
  readonly kind = 'infrastructure';
  constructor(
    readonly address: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot reach the coordinator at ${address} (is archfarm-coordinator running? set --coordinator or ARCHFARM_COORDINATOR)`,
      options,
    );
  }
}

/** The coordinator refused a request as invalid (gRPC INVALID_ARGUMENT); its words are the message. */
export class RequestRejectedError extends ArchfarmError {
  readonly code = 'REQUEST_REJECTED';
  readonly kind = 'input';
  constructor(
    readonly rpc: string,
    message: string,
    /** The server's stable error code (`archfarm-code` trailer), when it sent one. */
    readonly remoteCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Any other failed call: the coordinator answered with an error status. */
export class CoordinatorError extends ArchfarmError {
  readonly code = 'COORDINATOR_ERROR';
  readonly kind = 'infrastructure';
  constructor(
    readonly rpc: string,
    /** gRPC status name, e.g. "NOT_FOUND". */
    readonly status: string,
    message: string,
    readonly remoteCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The coordinator broke the API contract (e.g. a stream ended before `finished`). */
export class ProtocolError extends ArchfarmError {
  readonly code = 'PROTOCOL_ERROR';
  readonly kind = 'infrastructure';
}

/** The build ended FAILED: a platform's job or the publish step failed. */
export class BuildFailedError extends ArchfarmError {
  readonly code = 'BUILD_FAILED';
  readonly kind = 'build';
  constructor(
    readonly buildId: string,
    /** The platform whose failure ended the build; undefined for a build-level failure. */
    readonly platform: string | undefined,
    message: string,
    /** Stable code of the error that failed it, as the coordinator classified it. */
    readonly remoteCode: string | undefined,
  ) {
    super(message);
  }
}

/**
 * The build was published (--allow-partial) without some of its platforms. Not a failure
 * of the command, but scripts must be able to tell it from a complete publish.
 */
export class PublishedPartiallyError extends ArchfarmError {
  readonly code = 'PUBLISHED_PARTIALLY';
  readonly kind = 'build';
  constructor(
    readonly buildId: string,
    readonly leftOut: readonly { platform: string; error: ErrorInfo | undefined }[],
  ) {
    super(`build ${buildId} was published without ${leftOut.map((p) => p.platform).join(', ')}`);
  }

  /** One `warning: <platform> left out: <why> (<kind>)` line per platform. */
  warnings(): string[] {
    return this.leftOut.map(({ platform, error }) => {
      const kind = error?.kind ? ` (${error.kind})` : '';
      // The coordinator's message may already start with the platform; say it once.
      const message = error?.message.startsWith(`${platform}: `) ? error.message.slice(platform.length + 2) : error?.message;
      return `warning: ${platform} left out: ${message || 'no reason given'}${kind}`;
    });
  }
}

/** The coordinator knows no build with this id (gRPC NOT_FOUND on a build's id). */
export class BuildNotFoundError extends ArchfarmError {
  readonly code = 'BUILD_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly buildId: string,
    address: string,
    options?: { cause?: unknown },
  ) {
    super(`the coordinator at ${address} has no build "${buildId}"; \`archfarm builds\` lists the recent ones`, options);
  }
}

/** The coordinator knows no agent by this name (gRPC NOT_FOUND from DrainAgent/ResumeAgent). */
export class AgentNotFoundError extends ArchfarmError {
  readonly code = 'AGENT_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly agent: string,
    address: string,
    options?: { cause?: unknown },
  ) {
    super(`the coordinator at ${address} has no agent "${agent}"; \`archfarm agents --all\` lists them`, options);
  }
}

/** The build ended CANCELLED, by someone other than this process. */
export class BuildCancelledError extends ArchfarmError {
  readonly code = 'BUILD_CANCELLED';
  readonly kind = 'build';
  constructor(readonly buildId: string) {
    super(`build ${buildId} was cancelled`);
  }
}

/** `archfarm cancel` came too late: the build's index was already written under its tags. */
export class BuildAlreadyPublishedError extends ArchfarmError {
  readonly code = 'BUILD_ALREADY_PUBLISHED';
  readonly kind = 'input';
  constructor(readonly buildId: string) {
    super(`build ${buildId} was already published when the cancel arrived; nothing was cancelled and its tags stay (\`archfarm builds inspect ${buildId}\` shows the digest)`);
  }
}

/** This process got SIGINT/SIGTERM and stopped (cancelling its build, if it had one). */
export class InterruptedError extends ArchfarmError {
  readonly code = 'INTERRUPTED';
  readonly kind = 'input';
  constructor(
    readonly signal: NodeJS.Signals,
    readonly buildId?: string,
    /** Why CancelBuild failed, when it did: the build may then still be running. */
    readonly cancelFailure?: string,
  ) {
    super(
      buildId === undefined
        ? `interrupted (${signal})`
        : cancelFailure === undefined
          ? `interrupted (${signal}); build ${buildId} cancelled`
          : `interrupted (${signal}); build ${buildId} may still be running: cancelling it failed: ${cancelFailure}`,
    );
  }
}

/** Commander rejected the command line (unknown option, missing argument); it printed why. */
export class UsageError extends ArchfarmError {
  readonly code = 'USAGE';
  readonly kind = 'input';
}

/** The CLI's config file exists but cannot be used. */
export class ConfigFileInvalidError extends ArchfarmError {
  readonly code = 'CONFIG_INVALID';
  readonly kind = 'input';
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`the archfarm config ${path} is not valid: ${detail}; fix it or run \`archfarm login\` again`, options);
  }
}

/** Neither a flag, the environment nor the config file says which CA signs the coordinator's certificate. */
export class NoCaError extends ArchfarmError {
  readonly code = 'NO_CA';
  readonly kind = 'input';
  constructor(readonly address: string) {
    super(
      `no CA for the coordinator at ${address}: run \`archfarm login --coordinator HOST:PORT --token T --ca-fingerprint sha256:...\` ` +
        '(or give --ca-file, --ca-fingerprint or, for a dev coordinator on this machine, --insecure)',
    );
  }
}

/** No API token from --token, ARCHFARM_TOKEN or the config file. */
export class NoTokenError extends ArchfarmError {
  readonly code = 'NO_TOKEN';
  readonly kind = 'input';
  constructor(readonly address: string) {
    super(`no API token for the coordinator at ${address}: run \`archfarm login\`, or give --token or ARCHFARM_TOKEN`);
  }
}

/**
 * The caller may not do this: the coordinator refused the token (gRPC UNAUTHENTICATED) or
 * its role (PERMISSION_DENIED); the message is the coordinator's.
 */
export class NotAllowedError extends ArchfarmError {
  readonly code = 'NOT_ALLOWED';
  readonly kind = 'input';
  constructor(
    readonly rpc: string,
    /** "UNAUTHENTICATED" or "PERMISSION_DENIED". */
    readonly status: string,
    message: string,
    readonly remoteCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The coordinator could not prove who it is: its certificate is not from the trusted CA
 * (or not for the coordinator's name), or it does not speak TLS.
 */
export class CoordinatorUntrustedError extends ArchfarmError {
  readonly code = 'COORDINATOR_UNTRUSTED';
  readonly kind = 'input';
  constructor(
    readonly address: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the coordinator at ${address} failed the TLS check (${detail}); is this the coordinator whose CA you logged in with? ` +
        'a coordinator started with --insecure needs --insecure here',
      options,
    );
  }
}

/** The build was published, but --metadata-file or --iidfile could not be written. */
export class ResultFileError extends ArchfarmError {
  readonly code = 'RESULT_FILE_UNWRITABLE';
  readonly kind = 'infrastructure';
  constructor(
    readonly flag: string,
    readonly file: string,
    buildId: string,
    digest: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`build ${buildId} was published (${digest}), but ${flag} ${file} could not be written: ${detail}`, options);
  }
}

/**
 * A build's event or log stream was lost and no new one could be opened for the whole
 * re-attach bound (REATTACH.giveUpAfterMs): the build itself may still be running.
 */
export class CoordinatorLostError extends ArchfarmError {
  readonly code = 'COORDINATOR_LOST';
  readonly kind = 'infrastructure';
  constructor(
    readonly address: string,
    readonly buildId: string,
    /** How long it tried. */
    readonly triedMs: number,
    options?: { cause?: unknown },
  ) {
    const tried = triedMs >= 60_000 ? `${Math.round(triedMs / 60_000)} minutes` : `${Math.round(triedMs / 1000)} s`;
    super(`lost the coordinator at ${address} and could not re-attach for ${tried}; build ${buildId} may still be running (\`archfarm logs -f ${buildId}\` follows it)`, options);
  }
}

/**
 * `schedules run`: the tick could not decide or submit (a registry or git error); the
 * coordinator recorded it as failed with this reason. Not bad input: it exits 1.
 */
export class ScheduleTickFailedError extends ArchfarmError {
  readonly code = 'SCHEDULE_TICK_FAILED';
  readonly kind = 'infrastructure';
  constructor(
    readonly schedule: string,
    readonly reason: string,
  ) {
    super(`schedule ${schedule}: the tick failed: ${reason || 'the coordinator gave no reason'}`);
  }
}
