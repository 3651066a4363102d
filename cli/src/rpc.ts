import { status, type ServiceError } from '@grpc/grpc-js';
import { ProtocolMismatchError, type ArchfarmError } from '@archfarm/common';
import { DEFAULT_DEADLINE_MS, remoteCodeOf as trailerCode } from '@archfarm/proto';
import { CoordinatorError, CoordinatorUnreachableError, CoordinatorUntrustedError, NotAllowedError, RequestRejectedError } from './errors';

/**
 * The deadline of the CLI's unary calls (client.ts gives it to every client); only uploads
 * and watches may take long, and git submits (build-request.ts) get longer.
 */
export const UNARY_DEADLINE_MS = DEFAULT_DEADLINE_MS;

/** True for errors grpc-js hands to callbacks and 'error' listeners. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** What grpc-js says (in UNAVAILABLE's details) when the TLS handshake, not the network, failed. */
const TLS_FAILURE = /certificate|altnames|self[- ]signed|unable to (?:get|verify)|SSL routines|TLS|handshake|wrong version number/i;

/**
 * Maps a failed call to a typed error. UNAVAILABLE means "cannot reach" only when the
 * transport said so: the coordinator itself also answers UNAVAILABLE for infrastructure
 * errors, and then it sets the `archfarm-code` trailer. A failed TLS check is told apart,
 * since retrying cannot fix it. The coordinator's refusals of a token or role keep its words.
 */
export function fromServiceError(err: ServiceError, rpc: string, address: string): ArchfarmError {
  const remoteCode = remoteCodeOf(err);
  const details = err.details || `${rpc} failed with ${status[err.code] ?? err.code}`;
  if (err.code === status.UNAVAILABLE && remoteCode === undefined) {
    if (isTlsFailure(err)) return new CoordinatorUntrustedError(address, tlsDetail(details), { cause: err });
    return new CoordinatorUnreachableError(address, { cause: err });
  }
  if (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED) {
    return new NotAllowedError(rpc, status[err.code], details, remoteCode, { cause: err });
  }
  if (err.code === status.INVALID_ARGUMENT) return new RequestRejectedError(rpc, details, remoteCode, { cause: err });
  // The coordinator's words name both versions and which to upgrade.
  if (remoteCode === 'PROTOCOL_MISMATCH') return new ProtocolMismatchError(details, { cause: err });
  const message =
    err.code === status.UNIMPLEMENTED
      ? `the coordinator at ${address} does not implement ${rpc}; is it older than this CLI?`
      : err.code === status.DEADLINE_EXCEEDED
        ? `the coordinator at ${address} did not answer ${rpc} in time`
        : details;
  return new CoordinatorError(rpc, status[err.code] ?? String(err.code), message, remoteCode, { cause: err });
}

/**
 * The reason in grpc-js's "No connection established. Last error: Error: <reason>. Resolution
 * note: ...", with OpenSSL's "<hex>:error:<hex>:SSL routines:<fn>:<reason>:<file>:<line>:" cut to its reason.
 */
export function tlsDetail(details: string): string {
  const reason = lastError(details);
  const openssl = /SSL routines:[^:]*:([^:]+):/.exec(reason)?.[1];
  if (openssl === 'wrong version number') return 'it does not speak TLS';
  return openssl ?? reason;
}

/** grpc-js's "No connection established. Last error: Error: <reason>. Resolution note: ..." cut to its reason. */
export function lastError(details: string): string {
  return details
    .replace(/^[\s\S]*?Last error: (?:Error: )?/, '')
    .replace(/\.?\s*Resolution note:[\s\S]*$/, '')
    .trim();
}

/** The coordinator's stable error code (`archfarm-code` trailer), when it sent one. */
export function remoteCodeOf(err: ServiceError): string | undefined {
  return trailerCode(err);
}

/** UNAVAILABLE because the TLS handshake, not the network, failed: no retry can fix it. */
export function isTlsFailure(err: ServiceError): boolean {
  return err.code === status.UNAVAILABLE && remoteCodeOf(err) === undefined && TLS_FAILURE.test(err.details ?? '');
}
