/**
 * Base of every archfarm error: a stable `code` that scripts and the wire rely on,
 * and a `kind` that says whether retrying could help.
 */
export type ErrorKind = 'build' | 'infrastructure' | 'input';

export abstract class ArchfarmError extends Error {
  abstract readonly code: string;
  abstract readonly kind: ErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A value given by a user (flag, field, file) is not acceptable; `field` names it. */
export class InvalidInputError extends ArchfarmError {
  readonly code = 'INVALID_INPUT';
  readonly kind = 'input';
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}

/** The message of any thrown value, for logs and wire errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
