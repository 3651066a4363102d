import { ArchfarmError, errorMessage } from '@archfarm/common';
import { EngineRequestError, EngineUnavailableError } from './errors';

/** Socket-level failures that mean "the engine is not there (now)". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Also unreachable, but only when connecting: a missing or forbidden socket file (not a context file). */
const CONNECT_CODES = new Set(['ENOENT', 'EACCES']);

interface ModemError {
  statusCode?: number;
  code?: string;
  syscall?: string;
  json?: { message?: string } | null;
}

/** The HTTP status of a failed dockerode call, undefined when the engine did not answer. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as ModemError | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own words for a failed dockerode call (docker-modem's message wraps them). */
export function engineMessage(err: unknown): string {
  // docker-modem's message is "(HTTP code 500) server error - <engine message> ".
  return (err as ModemError | null)?.json?.message ?? errorMessage(err).trim();
}

/** Removing what is already gone is fine (another cleanup, or a racing `docker rmi`). */
export function ignoreNotFound(err: unknown): void {
  if (statusOf(err) === 404) return;
  // dockerd 20.10 answers 500 when another client removed the image a moment earlier.
  if (statusOf(err) === 500 && /unrecognized image ID|No such image/i.test(String((err as Error).message))) return;
  throw err;
}

/** A container gone already, or being removed by someone else (a forced remove's only 409), is fine. */
export function ignoreGone(err: unknown): void {
  const status = statusOf(err);
  if (status !== 404 && status !== 409) throw err;
}

/**
 * Classifies a failed dockerode call: server errors and unreachable sockets become
 * EngineUnavailableError (retryable), other HTTP answers EngineRequestError. Anything else
 * (a bug of ours) is returned unchanged rather than disguised as an engine failure.
 */
export function engineError(err: unknown, action: string): unknown {
  if (err instanceof ArchfarmError) return err;
  const e = (err ?? {}) as ModemError;
  const status = statusOf(err);
  const detail = engineMessage(err);
  if (status !== undefined) {
    return status >= 500
      ? new EngineUnavailableError(`${action}: engine error ${status}: ${detail}`, status, { cause: err })
      : new EngineRequestError(`${action}: engine refused (${status}): ${detail}`, status, { cause: err });
  }
  const code = e.code ?? '';
  if (UNREACHABLE_CODES.has(code) || (CONNECT_CODES.has(code) && e.syscall === 'connect')) {
    return new EngineUnavailableError(`${action}: cannot reach the engine: ${detail}`, undefined, { cause: err });
  }
  return err;
}
