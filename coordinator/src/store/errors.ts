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

/** An update names a build, job, attempt or agent that the store does not have. */
export class StoreRecordNotFoundError extends ArchfarmError {
  readonly code = 'STORE_RECORD_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly record: 'build' | 'job' | 'attempt' | 'agent',
    readonly key: string,
  ) {
    super(`store: no ${record} ${key}`);
  }
}

/** A write would duplicate a key (build or job id, job attempt, lease id); nothing was written. */
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

/** A call on a store after close(). */
export class StoreClosedError extends ArchfarmError {
  readonly code = 'STORE_CLOSED';
  readonly kind = 'infrastructure';
  constructor() {
    super('store: already closed');
  }
}
