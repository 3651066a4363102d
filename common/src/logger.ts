import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { InvalidInputError } from './errors';

export type { Logger };

/**
 * Paths that may carry a credential anywhere in archfarm's log objects; pino replaces
 * them before a line is written (pino docs/redaction.md).
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  '*.auths',
  'spec.auths',
  '*.spec.auths',
  'headers.authorization',
  '*.headers.authorization',
  // --secret values: a JobSpec's, a SubmitBuildRequest's, an Assign message's.
  'secrets',
  '*.secrets',
  'spec.secrets',
  '*.spec.secrets',
  'msg.value.spec.secrets',
  '*.msg.value.spec.secrets',
  // An Assign's push tokens (bearer tokens for one repository).
  'tokens',
  '*.tokens',
  'msg.value.tokens',
  '*.msg.value.tokens',
];

/** --log-level's choices (pino's levels); the default is info. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const DEFAULT_LOG_LEVEL = 'info';

/**
 * Log lines to stderr (stdout belongs to results), with credentials redacted: JSON for
 * journald, Kubernetes and log shippers, readable lines (pino-pretty) when stderr is a
 * terminal, where a person reads them. Redaction happens before either is written.
 */
export function createLogger(name: string, level = process.env.ARCHFARM_LOG_LEVEL || DEFAULT_LOG_LEVEL): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new InvalidInputError('--log-level', `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination());
}

function destination(): DestinationStream {
  // pino-pretty as a stream in this thread, not a worker transport: a daemon on a Pi stays one thread.
  if (process.stderr.isTTY) return pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l' });
  return pino.destination({ fd: 2, sync: false });
}
