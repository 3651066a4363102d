import type { RegistryAuth, SubmitBuildRequest } from '@archfarm/proto';
import type { BuildOptions } from './build-options';

/**
 * The request SubmitBuild and PlanBuild both take: a plan is asked exactly as a build.
 * Registry credentials go only where given (SubmitBuild), never with a plan.
 */
export function submitRequest(opts: BuildOptions, contextDigest: string, registryAuth?: RegistryAuth): SubmitBuildRequest {
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
    registryAuth,
    tags: [opts.tag.toString()],
    labels: {},
    annotations: [],
    pull: false,
    noCache: false,
    secrets: [],
  };
}
