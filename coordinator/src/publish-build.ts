import type { Logger } from '@archfarm/common';
import type { Build } from './builds/build';
import { publishIndex } from './publish';
import type { RegistryAccess } from './registry-access';

/** Checks every platform's pushed image and writes the index under the build's tag. */
export async function publishBuild(registries: RegistryAccess, build: Build, logger: Logger): Promise<string> {
  const target = build.spec.tag;
  const images = build.jobs.map((job) => {
    if (!job.digest) throw new Error(`job ${job.id} (${job.platform}) has no pushed digest`);
    return { platform: job.platform, digest: job.digest };
  });
  const result = await publishIndex({ client: registries.client(target, build.spec.credentials), target, images, logger: logger.child({ buildId: build.id }) });
  return result.digest;
}
