const MAX_DELAY_MS = 60_000;

/**
 * Exponential backoff with "equal jitter": between half and all of base * 2^(attempt-1).
 * The jitter keeps jobs that failed together (a registry went down) from retrying at once;
 * the fixed half keeps a retry budget from being spent in a burst of short waits.
 */
export function retryDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Runs `fn` until it succeeds, it throws a non-retryable error, or `attempts` tries are used. */
export async function withRetries<T>(fn: () => Promise<T>, opts: { attempts: number; baseMs: number; retryable: (err: unknown) => boolean; onRetry?: (err: unknown, delayMs: number) => void }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.attempts || !opts.retryable(err)) throw err;
      const delay = retryDelay(attempt, opts.baseMs);
      opts.onRetry?.(err, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
