import { ArchfarmError, errorMessage, type Logger } from '@archfarm/common';
import type { Build, Job } from './builds/build';
import { withRetries } from './builds/retry';
import { publishIndex } from './publish';
import type { RegistryAccess } from './registry-access';

export interface PublishSettings {
  /** Tries of the whole check-and-merge when the registry is unreachable or answers 5xx. */
  attempts: number;
  baseDelayMs: number;
}

/**
 * Checks each job's pushed image and writes the index under the build's tag. The merge is
 * idempotent (the same index bytes for the same images), so a retry after a registry outage,
 * or after a coordinator restart in the middle of it, is safe.
 */
export async function publishBuild(registries: RegistryAccess, build: Build, jobs: Job[], settings: PublishSettings, logger: Logger): Promise<string> {
  const target = build.spec.tag;
  const images = jobs.map((job) => {
    if (!job.digest) throw new Error(`job ${job.id} (${job.platform}) has no pushed digest`);
    return { platform: job.platform, digest: job.digest };
  });
  const log = logger.child({ buildId: build.id });
  const result = await withRetries(() => publishIndex({ client: registries.client(target, build.spec.credentials), target, images, logger: log }), {
    attempts: settings.attempts,
    baseMs: settings.baseDelayMs,
    retryable: (err) => err instanceof ArchfarmError && err.kind === 'infrastructure',
    onRetry: (err, delayMs) => log.warn({ err: errorMessage(err), delayMs }, 'publish failed, retrying'),
  });
  return result.digest;
}
