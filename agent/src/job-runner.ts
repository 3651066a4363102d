import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageRef, Platform, RegistryClient, errorMessage, type Logger } from '@archfarm/common';
import { modeFromWire, toErrorInfo, type AgentServiceClient, type Assign, type JobFinished } from '@archfarm/proto';
import type { ContextCache } from './context-cache';
import type { Engine } from './engine';
import { LogShipper } from './log-shipper';
import { pushSavedImage } from './push';

export interface JobRunnerDeps {
  agentName: string;
  engine: Engine;
  contexts: ContextCache;
  client: AgentServiceClient;
  stateDir: string;
  logger: Logger;
}

/** Labels on everything a job creates, so start-up cleanup can find leftovers. */
export const JOB_LABEL = 'io.archfarm.job';

/**
 * Runs one assigned job: fetch the context, build with the engine through BuildKit, push
 * the image by digest (never by tag), ship the log. Resolves to the Finished message,
 * failures included; it never throws.
 */
export async function runJob(deps: JobRunnerDeps, assign: Assign, signal: AbortSignal, started: () => void): Promise<JobFinished> {
  const spec = assign.spec!;
  const log = new LogShipper(deps.client, assign.jobId, assign.attempt);
  const logger = deps.logger.child({ buildId: spec.buildId, jobId: assign.jobId, attempt: assign.attempt });
  const localTag = `archfarm-job/${assign.jobId}:${assign.attempt}`;
  const base: JobFinished = { jobId: assign.jobId, attempt: assign.attempt, digest: '', mediaType: '', size: 0, error: undefined };
  let result: JobFinished;
  try {
    const platform = Platform.parse(spec.platform);
    const contextPath = await deps.contexts.get(spec.contextDigest);
    started();
    log.line(`archfarm: building ${platform} on ${deps.agentName} (${modeFromWire(assign.mode)})`);
    const { imageId } = await deps.engine.build({
      context: () => createReadStream(contextPath),
      dockerfile: spec.dockerfile,
      platform,
      buildArgs: spec.buildArgs,
      target: spec.target || undefined,
      tag: localTag,
      labels: { [JOB_LABEL]: assign.jobId, 'io.archfarm.build': spec.buildId },
      pullAuth: Object.fromEntries(spec.auths.map((a) => [a.registry, { username: a.username, password: a.password }])),
      signal,
      onLog: (line) => log.line(line),
    });
    const pushed = await push(deps, assign, imageId, (line) => log.line(line));
    log.line(`archfarm: pushed ${spec.repository}@${pushed.digest}`);
    result = { ...base, ...pushed };
  } catch (err) {
    const error = toErrorInfo(err);
    logger.warn({ error }, 'job failed');
    log.line(`archfarm: ERROR: ${error.message}`);
    result = { ...base, error };
  }
  await finish(deps, log, localTag, logger);
  return result;
}

async function push(deps: JobRunnerDeps, assign: Assign, imageId: string, onProgress: (line: string) => void) {
  const spec = assign.spec!;
  const target = ImageRef.parse(spec.repository, 'repository');
  const auth = spec.auths.find((a) => a.registry === target.registry);
  const client = new RegistryClient(target.registry, {
    insecure: spec.insecureRegistry,
    credentials: auth && { username: auth.username, password: auth.password },
    logger: deps.logger,
    userAgent: 'archfarm-agent',
  });
  const workDir = join(deps.stateDir, 'work', `${assign.jobId}-${assign.attempt}`);
  try {
    onProgress(`archfarm: pushing to ${target.name} by digest`);
    const tar = await deps.engine.saveImage(imageId);
    const pushed = await pushSavedImage(tar, { client, repository: target.repository, workDir, logger: deps.logger, onProgress });
    return { digest: pushed.digest, mediaType: pushed.mediaType, size: pushed.size };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Ships the rest of the log (before Finished, so watchers see the output first) and cleans up. */
async function finish(deps: JobRunnerDeps, log: LogShipper, localTag: string, logger: Logger): Promise<void> {
  await log.close().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'log upload failed'));
  await deps.engine.removeImage(localTag).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'image cleanup failed'));
}
