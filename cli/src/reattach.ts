import { status, type ServiceError } from '@grpc/grpc-js';
import { isServiceError, isTlsFailure, lastError, remoteCodeOf } from './rpc';

/**
 * How `build` and `logs -f` re-attach to a build after losing its stream (a dropped
 * connection, a coordinator killed and restarted): the waits between tries and how long
 * to keep trying. Decisions only; attached-stream.ts applies them.
 */
export interface ReattachPolicy {
  /** The first wait after a loss; each further try waits twice as long, up to maxDelayMs. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up (CoordinatorLostError, exit 3) once a loss has lasted this long. */
  readonly giveUpAfterMs: number;
}

/** A restart takes seconds; an upgrade or a host reboot a few minutes. */
export const REATTACH: ReattachPolicy = { firstDelayMs: 500, maxDelayMs: 5000, giveUpAfterMs: 10 * 60_000 };

/**
 * The wait before try `n` (0 for the first try after a loss): doubling from firstDelayMs,
 * at most maxDelayMs, then between half and all of that at random, so the CLIs a restart
 * cut off do not all come back in the same instant.
 */
export function reattachDelay(policy: ReattachPolicy, n: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(n, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * Status codes that a new try cannot change: the call itself is wrong, or the caller may
 * not make it, or the coordinator has a bug (INTERNAL: its unclassified errors). They end
 * the command at once, as before re-attaching existed. UNAVAILABLE (a lost connection, a
 * coordinator restarting: BUILD_NOT_RESTORED), CANCELLED (a coordinator that shut down)
 * and ABORTED are what re-attaching is for.
 */
const NEVER_RETRIED: ReadonlySet<status> = new Set([
  status.OK,
  status.UNKNOWN,
  status.INVALID_ARGUMENT,
  status.DEADLINE_EXCEEDED,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.UNIMPLEMENTED,
  status.INTERNAL,
  status.DATA_LOSS,
  status.UNAUTHENTICATED,
]);

/** True when a stream's failure is worth re-attaching after. CANCELLED by this process never gets here. */
export function isRetriable(err: unknown): boolean {
  // A coordinator that no longer passes the TLS check will not pass it on the next try either.
  return isServiceError(err) && !NEVER_RETRIED.has(err.code) && !isTlsFailure(err);
}

/** What a re-attaching client tells the user, once per loss. */
export type ReattachNote = { type: 'lost'; reason: string } | { type: 'reattached' };

/** The note as one stderr line. */
export function noteLine(note: ReattachNote): string {
  return note.type === 'lost' ? `archfarm: lost the coordinator (${note.reason}); re-attaching` : 'archfarm: re-attached';
}

/** A short cause for the "lost" line: the coordinator's error code, or what the transport saw. */
export function lossReason(err: ServiceError): string {
  const code = remoteCodeOf(err);
  if (code !== undefined) return code;
  if (err.code === status.CANCELLED) return 'it closed the stream';
  const reason = lastError(err.details ?? '') || (status[err.code] ?? String(err.code));
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}
