import { Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { ArchfarmError } from '@archfarm/common';
import { CoordinatorError, CoordinatorUnreachableError, CoordinatorUntrustedError, NotAllowedError, RequestRejectedError } from './errors';

/** A unary call should answer fast; only uploads and watches may take long. */
export const UNARY_DEADLINE_MS = 30_000;

/** The trailer in which the coordinator sends its error's stable code. */
export const ERROR_CODE_TRAILER = 'archfarm-code';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Calls a unary RPC with a deadline and turns a failure into the CLI's typed errors.
 * Pass the method bound to its client: `unary(addr, 'HasContext', c.hasContext.bind(c), req)`.
 * `deadlineMs` only for calls the coordinator may work on longer (a git context's fetch).
 */
export function unary<Req, Res>(address: string, rpc: string, method: UnaryMethod<Req, Res>, request: Req, deadlineMs = UNARY_DEADLINE_MS): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err) reject(fromServiceError(err, rpc, address));
      else resolve(res);
    });
  });
}

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
  const value = err.metadata?.get(ERROR_CODE_TRAILER)[0];
  return value === undefined ? undefined : String(value);
}

/** UNAVAILABLE because the TLS handshake, not the network, failed: no retry can fix it. */
export function isTlsFailure(err: ServiceError): boolean {
  return err.code === status.UNAVAILABLE && remoteCodeOf(err) === undefined && TLS_FAILURE.test(err.details ?? '');
}
