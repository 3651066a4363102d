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

/**
 * Two archfarm programs do not share a protocol (one is too old or too new for the other);
 * the message names both and which to upgrade. Retrying cannot help.
 */
export class ProtocolMismatchError extends ArchfarmError {
  readonly code = 'PROTOCOL_MISMATCH';
  readonly kind = 'input';
  /** The protocol the refused side speaks (NaN: it sent no number); unknown when told by a coordinator. */
  readonly protocol: number | undefined;
  /** What the judging side accepts; unknown when told by a coordinator. */
  readonly accepted: { readonly min: number; readonly max: number } | undefined;
  constructor(message: string, options: { protocol?: number; accepted?: { readonly min: number; readonly max: number }; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.protocol = options.protocol;
    this.accepted = options.accepted;
  }
}
