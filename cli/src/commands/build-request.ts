import type { SubmitBuildRequest } from '@archfarm/proto';
import type { BuildOptions } from './build-options';

/** The request SubmitBuild and PlanBuild both take: a plan is asked exactly as a build. */
export function submitRequest(opts: BuildOptions, contextDigest: string): SubmitBuildRequest {
  return {
    platforms: opts.platforms.map(String),
    tag: opts.tag.toString(),
    contextDigest,
    dockerfile: opts.dockerfile.inContext,
    buildArgs: opts.buildArgs,
    target: opts.target,
    waitTimeoutSeconds: opts.waitTimeoutSeconds,
    timeoutSeconds: opts.timeoutSeconds,
    allowPartial: opts.allowPartial,
    smokeCommand: opts.smokeCommand,
    emulation: opts.emulation,
    requireLabels: opts.requireLabels,
  };
}
