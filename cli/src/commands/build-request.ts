import type { BuildSecret, RegistryAuth, SubmitBuildRequest } from '@archfarm/proto';
import { UNARY_DEADLINE_MS } from '../rpc';
import type { BuildOptions } from './build-options';

/**
 * SubmitBuild and PlanBuild of a git context wait for the coordinator's fetch (each of its git
 * commands may take 2 minutes): past the usual deadline, the CLI would report a failure for a
 * build that was then submitted anyway.
 */
export const GIT_SUBMIT_DEADLINE_MS = 10 * 60_000;

/** The deadline of SubmitBuild and PlanBuild for these options. */
export function submitDeadlineMs(opts: Pick<BuildOptions, 'git'>): number {
  return opts.git ? GIT_SUBMIT_DEADLINE_MS : UNARY_DEADLINE_MS;
}

/** What only SubmitBuild carries: the build's own credentials and secret values. */
export interface SubmitSecrets {
  registryAuth: RegistryAuth | undefined;
  secrets: BuildSecret[];
}

/**
 * The request SubmitBuild and PlanBuild both take: a plan is asked exactly as a build.
 * Registry credentials and --secret values go only where given (SubmitBuild), never with a plan.
 * `contextDigest` is '' for a git context.
 */
export function submitRequest(opts: BuildOptions, contextDigest: string, sensitive?: SubmitSecrets): SubmitBuildRequest {
  return {
    platforms: opts.platforms.map(String),
    // Old coordinators read only `tag`; new ones publish under every entry of `tags`.
    tag: opts.tag.toString(),
    tags: opts.tags.map(String),
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
    labels: opts.labels,
    annotations: opts.annotations,
    pull: opts.pull,
    noCache: opts.noCache,
    registryAuth: sensitive?.registryAuth,
    secrets: sensitive?.secrets ?? [],
    // The coordinator fetches a git context and fills in the commit.
    git: opts.git ? { ...opts.git, commit: '' } : undefined,
    noProvenance: opts.noProvenance,
    crossCheck: opts.crossCheck.map(String),
  };
}
