import { ArchfarmError, RegistryUnavailableError } from '@archfarm/common';
import { classify, type Failure, type FailureContext } from './failure-cause';
import {
  BaseImageDeniedError,
  BaseImageNotFoundError,
  BaseImageRegistryOverloadedError,
  BaseImageTimeoutError,
  BaseImageUnreachableError,
  BuildFailedError,
  DiskFullError,
  EngineUnavailableError,
  StateDirUnwritableError,
} from './errors';

/**
 * The typed error for a failure, by its cause (classify decides, this only names): the one
 * place where an engine's text or a socket error becomes an archfarm error with a stable code.
 */
export function failureError(failure: Failure, context: FailureContext, options?: { cause?: unknown }): ArchfarmError {
  const { cause, registry } = classify(failure, context);
  const text = failure.text.trim();
  const registryFault = context.stage === 'push' && (cause === 'registry-unreachable' || cause === 'registry-timeout' || cause === 'registry-overloaded');
  if (registryFault) return new RegistryUnavailableError({ registry: registry ?? 'the target registry' }, text, undefined, options);
  switch (cause) {
    case 'registry-unreachable':
      return new BaseImageUnreachableError(registry, text);
    case 'registry-timeout':
      return new BaseImageTimeoutError(registry, text);
    case 'registry-overloaded':
      return new BaseImageRegistryOverloadedError(registry, text);
    case 'registry-denied':
      return new BaseImageDeniedError(registry, text);
    case 'base-image-missing':
      return new BaseImageNotFoundError(text);
    case 'engine-gone':
      return new EngineUnavailableError(`the engine went away (${text}); archfarm retries the job; if it persists, check the engine on this agent`, undefined, options);
    case 'disk-full':
      return new DiskFullError(failure.errno === undefined ? "the engine's image store" : "the agent's state dir", text, options);
    default:
      return new BuildFailedError(text, cause, options);
  }
}

/** Where a job's own files live, so a file error there is named as the state dir's. */
export interface StateDirContext {
  stateDir: string;
  /** The file being written when the error has no path of its own (a write on an open file). */
  path?: string;
}

/** errnos of a file the agent cannot write, whoever's fault: a read-only mount, permissions, a file where a directory should be. */
const UNWRITABLE_ERRNOS = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EISDIR', 'EIO']);

/**
 * A thrown value, classified where it can be: archfarm errors pass unchanged, a full disk of
 * the agent's own (ENOSPC, EDQUOT writing the context, the push's work dir, the log spool)
 * becomes DiskFullError, and with `where`, a file in the state dir that cannot be written
 * StateDirUnwritableError (EROFS anywhere is a read-only mount, so it is named that way too).
 * Anything else is returned as it is (a bug of ours stays visible).
 */
export function classifyThrown(err: unknown, where?: StateDirContext): unknown {
  if (err instanceof ArchfarmError) return err;
  const { code, path } = (err ?? {}) as { code?: unknown; path?: unknown };
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DiskFullError(where ? `the agent's state dir ${where.stateDir}` : "the agent's state dir", (err as Error).message, { cause: err });
  }
  if (where === undefined || typeof code !== 'string' || !UNWRITABLE_ERRNOS.has(code)) return err;
  const file = typeof path === 'string' ? path : where.path;
  const inStateDir = file !== undefined && (file === where.stateDir || file.startsWith(`${where.stateDir}/`));
  if (!inStateDir && code !== 'EROFS') return err;
  return new StateDirUnwritableError(where.stateDir, file ?? where.stateDir, code, systemErrorText(err as Error, code), { cause: err });
}

/** "read-only file system" out of Node's "EROFS: read-only file system, open '/x'". */
function systemErrorText(err: Error, code: string): string {
  return err.message.replace(`${code}: `, '').replace(/, \w+(?: '[^']*')?(?: -> '[^']*')?$/, '');
}
