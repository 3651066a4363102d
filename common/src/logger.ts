import pino, { type Logger } from 'pino';

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

/** JSON lines to stderr (stdout belongs to results), with credentials redacted. */
export function createLogger(name: string, level = process.env.ARCHFARM_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: false }),
  );
}
