import { ArchfarmError } from '@archfarm/common';

/** A build id the coordinator does not know. */
export class BuildNotFoundError extends ArchfarmError {
  readonly code = 'BUILD_NOT_FOUND';
  readonly kind = 'input';
  constructor(readonly buildId: string) {
    super(`build ${buildId} not found; list builds with 'archfarm builds'`);
  }
}

/** A build names a context digest that was never uploaded (or was uploaded incompletely). */
export class ContextNotFoundError extends ArchfarmError {
  readonly code = 'CONTEXT_NOT_FOUND';
  readonly kind = 'input';
  constructor(readonly digest: string) {
    super(`context ${digest} is not on the coordinator; upload it first (the CLI does this)`);
  }
}

/** Uploaded bytes do not hash to the digest their header announced. */
export class ContextDigestMismatchError extends ArchfarmError {
  readonly code = 'CONTEXT_DIGEST_MISMATCH';
  readonly kind = 'input';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`context upload announced ${expected} but its bytes hash to ${actual}; upload again`);
  }
}

/** A context upload is larger than --max-context-size. */
export class ContextTooLargeError extends ArchfarmError {
  readonly code = 'CONTEXT_TOO_LARGE';
  readonly kind = 'input';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`context is ${size} bytes, over the coordinator's limit of ${limit}; add a .dockerignore or raise --max-context-size`);
  }
}

/** A platform waited longer than the build's --wait-timeout for an agent. */
export class NoAgentError extends ArchfarmError {
  readonly code = 'NO_AGENT';
  readonly kind = 'infrastructure';
  constructor(
    readonly platform: string,
    reason: string,
  ) {
    super(`${platform}: no agent took the job before --wait-timeout: ${reason}`);
  }
}

/** The agent that ran a job went away and the job has no attempts left. */
export class AgentLostError extends ArchfarmError {
  readonly code = 'AGENT_LOST';
  readonly kind = 'infrastructure';
  constructor(readonly agent: string) {
    super(`agent ${agent} disconnected while running the job`);
  }
}

/** The build was cancelled by an operator. */
export class BuildCancelledError extends ArchfarmError {
  readonly code = 'BUILD_CANCELLED';
  readonly kind = 'input';
  constructor(readonly buildId: string) {
    super(`build ${buildId} was cancelled`);
  }
}

/** An agent's first message on Connect was not Hello, or Hello was incomplete. */
export class BadHelloError extends ArchfarmError {
  readonly code = 'BAD_HELLO';
  readonly kind = 'input';
}

/** A message about an attempt that is no longer the job's current one (fencing). */
export class StaleAttemptError extends ArchfarmError {
  readonly code = 'STALE_ATTEMPT';
  readonly kind = 'infrastructure';
  constructor(
    readonly jobId: string,
    readonly attempt: number,
  ) {
    super(`job ${jobId} attempt ${attempt} is not current; stop that work`);
  }
}

/** A log chunk starts past the committed offset: the sender must resend from `committed`. */
export class LogGapError extends ArchfarmError {
  readonly code = 'LOG_GAP';
  readonly kind = 'infrastructure';
  constructor(
    readonly jobId: string,
    readonly committed: number,
    readonly offset: number,
  ) {
    super(`log of job ${jobId}: chunk at ${offset} but only ${committed} bytes are committed; resend from ${committed}`);
  }
}

/** A build ran longer than its --timeout. */
export class BuildTimeoutError extends ArchfarmError {
  readonly code = 'BUILD_TIMEOUT';
  readonly kind = 'build';
  constructor(
    readonly buildId: string,
    readonly seconds: number,
  ) {
    super(`build ${buildId} ran longer than its --timeout of ${seconds}s and was stopped`);
  }
}

/** No connected agent may ever take the job under the build's policy (e.g. --emulation deny). */
export class NoEligibleAgentError extends ArchfarmError {
  readonly code = 'NO_ELIGIBLE_AGENT';
  readonly kind = 'input';
  constructor(
    readonly platform: string,
    reason: string,
  ) {
    super(`${platform}: ${reason}`);
  }
}

/** An agent name the coordinator has never seen. */
export class AgentNotFoundError extends ArchfarmError {
  readonly code = 'AGENT_NOT_FOUND';
  readonly kind = 'input';
  constructor(readonly agentName: string) {
    super(`agent ${agentName} is not known; see 'archfarm agents --all'`);
  }
}

/** An operator already has --max-pending-builds builds running. */
export class TooManyBuildsError extends ArchfarmError {
  readonly code = 'TOO_MANY_BUILDS';
  readonly kind = 'input';
  constructor(readonly limit: number) {
    super(`this token already has ${limit} builds running; wait for one to finish or cancel one`);
  }
}

/**
 * A build with --secret values was restored after a coordinator restart: the values lived in
 * the old process's memory only (never in the store), so a job that still has to run cannot
 * get them. Resubmitting the build sends them again.
 */
export class SecretsNotKeptError extends ArchfarmError {
  readonly code = 'SECRETS_NOT_KEPT';
  readonly kind = 'input';
  constructor(
    readonly buildId: string,
    readonly secretIds: readonly string[],
  ) {
    super(`build ${buildId} uses --secret ${secretIds.join(', ')}, whose values are kept in memory only and were lost when the coordinator restarted; submit the build again`);
  }
}

/**
 * The build lifecycle was asked for a change its table does not allow (e.g. `started` for a
 * job that already finished, or `published` for a build that is not publishing). Refused and
 * logged; the build is unchanged. A bug or a misbehaving agent, never patched around.
 */
export class IllegalTransitionError extends ArchfarmError {
  readonly code = 'ILLEGAL_TRANSITION';
  readonly kind = 'infrastructure';
  constructor(
    readonly event: string,
    readonly subject: string,
    readonly state: string,
  ) {
    super(`${event} is not allowed for ${subject} in state ${state}`);
  }
}


/**
 * A build the store says is unfinished is not in memory: the coordinator is still restoring
 * it after a restart. Infrastructure (UNAVAILABLE): a watcher re-attaches in a moment.
 */
export class BuildNotRestoredError extends ArchfarmError {
  readonly code = 'BUILD_NOT_RESTORED';
  readonly kind = 'infrastructure';
  constructor(readonly buildId: string) {
    super(`build ${buildId} is not resumed yet (the coordinator is restarting); try again in a moment`);
  }
}

/** Another coordinator holds the data dir's lock: two on one database would corrupt each other's view. */
export class DataDirLockedError extends ArchfarmError {
  readonly code = 'DATA_DIR_LOCKED';
  readonly kind = 'input';
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    const who = pid === undefined ? 'another coordinator' : `another coordinator (pid ${pid})`;
    super(`--data-dir ${dataDir} is in use by ${who}; stop it first, or give this one a --data-dir of its own`);
  }
}

/** The data dir is a shared directory (sticky, like /tmp): the coordinator's secrets need one of their own. */
export class DataDirSharedError extends ArchfarmError {
  readonly code = 'DATA_DIR_SHARED';
  readonly kind = 'input';
  constructor(readonly dataDir: string) {
    super(`--data-dir ${dataDir} is a shared directory (sticky bit, like /tmp); give the coordinator a directory of its own, e.g. ${dataDir}/archfarm`);
  }
}

/** An agent wrote to, or asked about, an attempt (or a context) it does not hold. */
export class AttemptNotHeldError extends ArchfarmError {
  readonly code = 'ATTEMPT_NOT_HELD';
  readonly kind = 'input';
  constructor(
    readonly agent: string,
    readonly what: string,
  ) {
    super(`agent ${agent} does not hold ${what}; only the agent the attempt was assigned to may upload its log, read its offset or fetch its context`);
  }
}

/** A client holds as many watches (WatchBuild, StreamLogs) as one token may. */
export class TooManyWatchesError extends ArchfarmError {
  readonly code = 'TOO_MANY_WATCHES';
  readonly kind = 'input';
  constructor(readonly limit: number) {
    super(`this token already holds ${limit} watches (WatchBuild, StreamLogs), the most one token may hold; close some (Ctrl-C other \`archfarm build\`/\`archfarm logs -f\`) and try again`);
  }
}

/** A schedule name the coordinator does not know. */
export class ScheduleNotFoundError extends ArchfarmError {
  readonly code = 'SCHEDULE_NOT_FOUND';
  readonly kind = 'input';
  constructor(readonly schedule: string) {
    super(`name: schedule "${schedule}" not found; list schedules with 'archfarm schedules list'`);
  }
}

/** `schedules add` with a name already taken. */
export class ScheduleExistsError extends ArchfarmError {
  readonly code = 'SCHEDULE_EXISTS';
  readonly kind = 'input';
  constructor(readonly schedule: string) {
    super(`name: a schedule "${schedule}" already exists; pick another name, or 'archfarm schedules rm ${schedule}' first`);
  }
}

/** A builder acting on a schedule another token added: builders manage their own, admins all. */
export class ScheduleNotOwnedError extends ArchfarmError {
  readonly code = 'SCHEDULE_NOT_OWNED';
  readonly kind = 'input';
  constructor(readonly schedule: string) {
    super(`schedule "${schedule}" was added by another token; a builder manages only its own schedules (an admin token manages all)`);
  }
}

/** A base image (FROM) a schedule's --on-base-change check resolves is not in its registry. */
export class BaseImageNotFoundError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly image: string,
    /** The platforms it was wanted for. */
    readonly platforms: string[],
    options?: { cause?: unknown },
  ) {
    super(`base image ${image} (for ${platforms.join(', ')}) is not in its registry: no manifest under that tag or digest`, options);
  }
}

/** A base image's index has no manifest for a platform the build needs it for. */
export class BasePlatformMissingError extends ArchfarmError {
  readonly code = 'BASE_PLATFORM_MISSING';
  readonly kind = 'input';
  constructor(
    readonly image: string,
    readonly platform: string,
    /** What the index offers, e.g. "an index of linux/amd64, linux/arm64". */
    readonly offered: string,
  ) {
    super(`base image ${image} has no ${platform} manifest: it is ${offered}`);
  }
}

/** A FROM (or COPY --from) whose image cannot be worked out before the build, so its digest cannot be checked. */
export class BaseImageUnresolvableError extends ArchfarmError {
  readonly code = 'BASE_IMAGE_UNRESOLVABLE';
  readonly kind = 'input';
  constructor(readonly problems: string[]) {
    super(`cannot tell which base images the build uses: ${problems.join('; ')}`);
  }
}

/** A git context's ref names nothing in the repository (`archfarm build URL#REF`). */
export class GitRefNotFoundError extends ArchfarmError {
  readonly code = 'GIT_REF_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly url: string,
    readonly ref: string,
  ) {
    super(`context: the repository ${url} has no branch, tag or ref "${ref || 'HEAD'}"; give one it has after # (e.g. ${url}#main), or a full commit id`);
  }
}

/** The coordinator's git client could not read a git context's repository (network, host, path, timeout). */
export class GitUnreachableError extends ArchfarmError {
  readonly code = 'GIT_UNREACHABLE';
  readonly kind = 'infrastructure';
  constructor(
    readonly url: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`context: the coordinator cannot read the repository ${url}: ${detail}; check the URL, and that the coordinator's host can reach it without credentials`, options);
  }
}

/** A git context's subdir is not a directory at the commit its ref resolved to. */
export class GitSubdirNotFoundError extends ArchfarmError {
  readonly code = 'GIT_SUBDIR_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly url: string,
    readonly commit: string,
    readonly subdir: string,
  ) {
    super(`context: the repository ${url} at ${commit.slice(0, 12)} has no directory "${subdir}"; after the ref give a directory it has (URL#REF:DIR), or none for the root`);
  }
}

/** The coordinator's host has no `git` client, which git contexts need. */
export class GitClientMissingError extends ArchfarmError {
  readonly code = 'GIT_CLIENT_MISSING';
  readonly kind = 'infrastructure';
  constructor(options?: { cause?: unknown }) {
    super('context: git contexts need the git client on the coordinator\'s host, and there is none on its PATH; install git (apt-get install git) or upload a directory instead', options);
  }
}

/** The client gave up (deadline, Ctrl-C) while SubmitBuild was still working (fetching a git context): nothing is submitted. */
export class RequestAbandonedError extends ArchfarmError {
  readonly code = 'REQUEST_ABANDONED';
  readonly kind = 'infrastructure';
  constructor(readonly rpc: string) {
    super(`${rpc}: the client stopped waiting before the coordinator was done; nothing was submitted, try again`);
  }
}
