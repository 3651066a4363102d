import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageRef, Platform, RegistryClient, errorMessage, type Logger } from '@archfarm/common';
import { modeFromWire, toErrorInfo, type AgentServiceClient, type Assign, type JobFinished } from '@archfarm/proto';
import type { ContextCache } from './context-cache';
import { classifyThrown, unpackedTree, type Engine } from './engine';
import { SmokeTestFailedError } from './errors';
import { LogShipper } from './log-shipper';
import { pushSavedImage, sourceDateEpochOf } from './push';

export interface JobRunnerDeps {
  agentName: string;
  engine: Engine;
  contexts: ContextCache;
  /** The current connection's client (it changes when the agent reconnects). */
  client: () => AgentServiceClient;
  stateDir: string;
  logger: Logger;
}

/** Label on the containers a job runs (smoke tests), so start-up cleanup can find leftovers. */
export const JOB_LABEL = 'io.archfarm.job';
/**
 * The agent that made a container. Start-up cleanup removes only its own, so agents sharing
 * one engine never delete each other's work.
 */
export const AGENT_LABEL = 'io.archfarm.agent';

/**
 * Where the agent's local images live, "archfarm-job/<agent>": images are found by this name,
 * not by a label, because labels given to a build land in the image config that gets published
 * (and would change its digest from build to build, and tell the world the agent's name).
 */
export function localRepository(agentName: string): string {
  const slug = agentName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'agent';
  return `archfarm-job/${slug}`;
}

/**
 * Runs one assigned job: fetch the context, build with the engine through BuildKit, push
 * the image by digest (never by tag), ship the log. Resolves to the Finished message,
 * failures included; it never throws.
 */
export async function runJob(deps: JobRunnerDeps, assign: Assign, signal: AbortSignal, started: () => void): Promise<JobFinished> {
  const spec = assign.spec!;
  await mkdir(join(deps.stateDir, 'logs'), { recursive: true });
  const log = new LogShipper(deps.client, assign.jobId, assign.attempt, join(deps.stateDir, 'logs', `${assign.jobId}.${assign.attempt}.log`), deps.logger);
  const logger = deps.logger.child({ buildId: spec.buildId, jobId: assign.jobId, attempt: assign.attempt });
  const localTag = `${localRepository(deps.agentName)}/${assign.jobId}:${assign.attempt}`;
  const base: JobFinished = { jobId: assign.jobId, attempt: assign.attempt, digest: '', mediaType: '', size: 0, error: undefined, bases: [] };
  let result: JobFinished;
  try {
    const platform = Platform.parse(spec.platform);
    const epoch = sourceDateEpochOf(spec.buildArgs); // a bad value fails before the build, not after
    const fetchStart = Date.now();
    const contextPath = await deps.contexts.get(spec.contextDigest);
    const buildStart = Date.now();
    started();
    log.line(`archfarm: building ${platform} on ${deps.agentName} (${modeFromWire(assign.mode)})`);
    const { imageId, bases } = await deps.engine.build({
      context: { tree: () => unpackedTree(contextPath), tar: () => createReadStream(contextPath) },
      contextKey: spec.contextDigest,
      dockerfile: spec.dockerfile,
      platform,
      buildArgs: spec.buildArgs,
      target: spec.target || undefined,
      tag: localTag,
      labels: spec.labels,
      noCache: spec.noCache,
      pull: spec.pull,
      secrets: new Map(spec.secrets.map((s) => [s.id, s.value])),
      pullAuth: Object.fromEntries(spec.auths.map((a) => [a.registry, { username: a.username, password: a.password }])),
      signal,
      onLog: (line) => log.line(line),
    });
    const buildEnd = Date.now();
    if (spec.smokeCommand.length > 0) await smoke(deps, assign, imageId, platform, signal, (line) => log.line(line));
    const pushStart = Date.now();
    const pushed = await push(deps, assign, imageId, { platform, epoch }, (line) => log.line(line));
    log.line(`archfarm: pushed ${spec.repository}@${pushed.digest}`);
    // The agent's own account of where the job's time went (operators and bench/ read it).
    log.line(`archfarm: built in ${seconds(buildEnd - buildStart)} (context ${seconds(buildStart - fetchStart)}, push ${seconds(Date.now() - pushStart)})`);
    result = { ...base, ...pushed, bases };
  } catch (err) {
    const error = toErrorInfo(classifyThrown(err)); // e.g. the agent's own full disk: DISK_FULL, retried
    logger.warn({ error }, 'job failed');
    log.line(`archfarm: ERROR: ${error.message}`);
    result = { ...base, error };
  }
  await finish(deps, log, localTag, signal, logger);
  return result;
}

async function push(deps: JobRunnerDeps, assign: Assign, imageId: string, { platform, epoch }: { platform: Platform; epoch: number | undefined }, onProgress: (line: string) => void) {
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
    if (epoch !== undefined) onProgress(`archfarm: SOURCE_DATE_EPOCH=${epoch}: layer and config times clamped to it`);
    const pushed = await pushSavedImage(tar, { client, repository: target.repository, workDir, logger: deps.logger, onProgress, platform, epoch, annotations: spec.manifestAnnotations });
    return { digest: pushed.digest, mediaType: pushed.mediaType, size: pushed.size };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Runs the image once before it is pushed: emulation and real CPUs differ, and a build that
 * passed under QEMU can still crash on the hardware (or the reverse). Output joins the job log.
 */
async function smoke(deps: JobRunnerDeps, assign: Assign, image: string, platform: Platform, signal: AbortSignal, onLog: (line: string) => void): Promise<void> {
  const command = assign.spec!.smokeCommand;
  onLog(`archfarm: smoke test: ${command.join(' ')}`);
  const { exitCode } = await deps.engine.run({ image, platform, command, labels: { [JOB_LABEL]: assign.jobId, [AGENT_LABEL]: deps.agentName }, signal, onLog: (line) => onLog(`smoke: ${line}`) });
  if (exitCode !== 0) throw new SmokeTestFailedError(platform.toString(), command, exitCode);
  onLog('archfarm: smoke test passed');
}

/** Ships the rest of the log (before Finished, so watchers see the output first) and cleans up. */
async function finish(deps: JobRunnerDeps, log: LogShipper, localTag: string, giveUp: AbortSignal, logger: Logger): Promise<void> {
  await log.close(giveUp).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'log upload failed'));
  await deps.engine.removeImage(localTag).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'image cleanup failed'));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
