import { ArchfarmError } from '@archfarm/common';

/**
 * The database was written by a newer archfarm (its schema version is above the ones this
 * build knows). Opening is refused and the file is left untouched.
 */
export class StoreVersionError extends ArchfarmError {
  readonly code = 'STORE_VERSION_UNSUPPORTED';
  readonly kind = 'input';
  constructor(
    readonly path: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `${path} has schema version ${found} but this archfarm knows versions up to ${supported}: ` +
        'it was written by a newer archfarm; run that version or newer, or use another --data-dir (the file was not changed)',
    );
  }
}

/** An update names a build, job, attempt, agent or schedule that the store does not have. */
export class StoreRecordNotFoundError extends ArchfarmError {
  readonly code = 'STORE_RECORD_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly record: 'build' | 'job' | 'attempt' | 'agent' | 'schedule',
    readonly key: string,
  ) {
    super(`store: no ${record} ${key}`);
  }
}

/** A write would duplicate a key (build or job id, job attempt, lease id, schedule name); nothing was written. */
export class StoreConflictError extends ArchfarmError {
  readonly code = 'STORE_CONFLICT';
  readonly kind = 'input';
  constructor(
    readonly operation: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`store: ${operation}: ${detail}`, options);
  }
}

/** A stored row does not decode into a record (unknown state, malformed JSON). */
export class StoreDataError extends ArchfarmError {
  readonly code = 'STORE_BAD_DATA';
  readonly kind = 'infrastructure';
  constructor(
    readonly record: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`store: ${record}: ${detail}`, options);
  }
}

/**
 * Another coordinator holds the PostgreSQL database (its schema) already. Several coordinators
 * on one database need the cluster-wide claiming and fencing that this archfarm does not have
 * yet (./POSTGRES.md), so a second one is refused rather than let double-dispatch jobs.
 */
export class StoreInUseError extends ArchfarmError {
  readonly code = 'STORE_IN_USE';
  readonly kind = 'input';
  constructor(readonly where: string) {
    super(
      `${where} is in use by another archfarm coordinator; this version runs one coordinator per database: ` +
        'stop the other one, or give this one another database (or ?options=-c search_path=<schema>)',
    );
  }
}

/** The PostgreSQL server of --store did not accept a connection at start (down, wrong address, refused login). */
export class StoreUnreachableError extends ArchfarmError {
  readonly code = 'STORE_UNREACHABLE';
  readonly kind = 'infrastructure';
  constructor(
    readonly where: string,
    options?: { cause?: unknown },
  ) {
    super(`store: cannot connect to ${where}: ${options?.cause instanceof Error ? options.cause.message : String(options?.cause)}; check --store (host, port, user, database) and the password (PGPASSWORD or ~/.pgpass)`, options);
  }
}

/** A call on a store after close(). */
export class StoreClosedError extends ArchfarmError {
  readonly code = 'STORE_CLOSED';
  readonly kind = 'infrastructure';
  constructor() {
    super('store: already closed');
  }
}

/*
 * Join token refusals. Their messages name neither the token nor its hash: they reach the
 * agent on the wire and the coordinator's log.
 */

/** No join token has this hash (never issued, or an operator token offered as a join token). */
export class TokenUnknownError extends ArchfarmError {
  readonly code = 'TOKEN_UNKNOWN';
  readonly kind = 'input';
  constructor() {
    super("join token not recognised by this coordinator; create one with 'archfarm tokens create'");
  }
}

/** The join token's expiry time has passed. */
export class TokenExpiredError extends ArchfarmError {
  readonly code = 'TOKEN_EXPIRED';
  readonly kind = 'input';
  constructor(
    readonly tokenId: string,
    readonly expiredAt: number,
  ) {
    super(`join token ${tokenId} expired at ${new Date(expiredAt).toISOString()}; create a new one with 'archfarm tokens create'`);
  }
}

/** The join token has no uses left. */
export class TokenUsedUpError extends ArchfarmError {
  readonly code = 'TOKEN_USED_UP';
  readonly kind = 'input';
  constructor(readonly tokenId: string) {
    super(`join token ${tokenId} has no uses left; create a new one with 'archfarm tokens create' (--uses N allows more)`);
  }
}

/** An admin revoked the join token (`archfarm tokens revoke`). */
export class TokenRevokedError extends ArchfarmError {
  readonly code = 'TOKEN_REVOKED';
  readonly kind = 'input';
  constructor(readonly tokenId: string) {
    super(`join token ${tokenId} was revoked; create a new one with 'archfarm tokens create'`);
  }
}

/** No token has this id (`archfarm tokens revoke ID`). */
export class TokenNotFoundError extends ArchfarmError {
  readonly code = 'TOKEN_NOT_FOUND';
  readonly kind = 'input';
  constructor(readonly tokenId: string) {
    super(`no token has id ${tokenId}; see 'archfarm tokens list'`);
  }
}

/**
 * The agent name is enrolled already (revoked or not): a second enrolment would take over
 * its jobs and credentials. Only an admin frees a name.
 */
export class AgentNameTakenError extends ArchfarmError {
  readonly code = 'AGENT_NAME_TAKEN';
  readonly kind = 'input';
  constructor(
    readonly agentName: string,
    revoked: boolean,
  ) {
    super(
      `agent name ${agentName} is already enrolled${revoked ? ' (and revoked)' : ''}; enrol this machine under another name, ` +
        `or, if it replaces the old one, have an admin run 'archfarm agents forget ${agentName}' first`,
    );
  }
}
