import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ArchfarmError, InvalidInputError, errorMessage } from '@archfarm/common';
import { ERROR_CODE_TRAILER } from '@archfarm/proto';
import { AgentNotFoundError, BuildNotFoundError, ContextNotFoundError } from '../errors';

/**
 * The one place that maps domain errors to gRPC status codes. The error's stable code
 * travels in the `archfarm-code` trailer so clients can branch without parsing text.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof ArchfarmError) metadata.set(ERROR_CODE_TRAILER, err.code);
  return { code: statusFor(err), details: errorMessage(err), metadata };
}

/** Refusals of a credential: the caller is not who it needs to be. */
const UNAUTHENTICATED_CODES = new Set(['TOKEN_EXPIRED', 'TOKEN_USED_UP', 'TOKEN_UNKNOWN', 'TOKEN_REVOKED']);
/** Codes whose status is not their kind's. */
const STATUS_BY_CODE: Record<string, status> = {
  AGENT_NAME_TAKEN: status.ALREADY_EXISTS,
  TOKEN_NOT_FOUND: status.NOT_FOUND,
  ATTEMPT_NOT_HELD: status.PERMISSION_DENIED,
  // Not transient: the attempt ended or was superseded (the agent reads the code trailer).
  STALE_ATTEMPT: status.FAILED_PRECONDITION,
  TOO_MANY_WATCHES: status.RESOURCE_EXHAUSTED,
  SCHEDULE_NOT_FOUND: status.NOT_FOUND,
  SCHEDULE_EXISTS: status.ALREADY_EXISTS,
  SCHEDULE_NOT_OWNED: status.PERMISSION_DENIED,
  // Not the request's fault: the caller's program is too old or too new for this coordinator.
  PROTOCOL_MISMATCH: status.FAILED_PRECONDITION,
};

function statusFor(err: unknown): status {
  if (err instanceof ArchfarmError && UNAUTHENTICATED_CODES.has(err.code)) return status.UNAUTHENTICATED;
  if (err instanceof ArchfarmError && STATUS_BY_CODE[err.code] !== undefined) return STATUS_BY_CODE[err.code]!;
  const grpc = (err as { code?: unknown } | null)?.code;
  if (typeof grpc === 'number') return grpc as status;
  if (err instanceof InvalidInputError) return status.INVALID_ARGUMENT;
  if (err instanceof BuildNotFoundError || err instanceof AgentNotFoundError) return status.NOT_FOUND;
  if (err instanceof ContextNotFoundError) return status.FAILED_PRECONDITION;
  if (err instanceof ArchfarmError && err.kind === 'input') return status.INVALID_ARGUMENT;
  if (err instanceof ArchfarmError && err.kind === 'infrastructure') return status.UNAVAILABLE;
  return status.INTERNAL;
}
