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

/**
 * A thrown value, classified where it can be: archfarm errors pass unchanged, a full disk of
 * the agent's own (ENOSPC, EDQUOT writing the context, the push's work dir, the log spool)
 * becomes DiskFullError. Anything else is returned as it is (a bug of ours stays visible).
 */
export function classifyThrown(err: unknown): unknown {
  if (err instanceof ArchfarmError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DiskFullError("the agent's state dir", (err as Error).message, { cause: err });
  return err;
}
