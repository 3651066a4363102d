import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ArchfarmError, InvalidInputError, errorMessage } from '@archfarm/common';
import { AgentNotFoundError, BuildNotFoundError, ContextNotFoundError } from '../errors';

/**
 * The one place that maps domain errors to gRPC status codes. The error's stable code
 * travels in the `archfarm-code` trailer so clients can branch without parsing text.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof ArchfarmError) metadata.set('archfarm-code', err.code);
  return { code: statusFor(err), details: errorMessage(err), metadata };
}

function statusFor(err: unknown): status {
  if (err instanceof InvalidInputError) return status.INVALID_ARGUMENT;
  if (err instanceof BuildNotFoundError || err instanceof AgentNotFoundError) return status.NOT_FOUND;
  if (err instanceof ContextNotFoundError) return status.FAILED_PRECONDITION;
  if (err instanceof ArchfarmError && err.kind === 'input') return status.INVALID_ARGUMENT;
  if (err instanceof ArchfarmError && err.kind === 'infrastructure') return status.UNAVAILABLE;
  return status.INTERNAL;
}
