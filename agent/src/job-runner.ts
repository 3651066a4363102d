import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArchfarmError, ImageRef, Platform, RegistryClient, errorMessage, type Logger } from '@archfarm/common';
import { modeFromWire, toErrorInfo, type Assign, type JobFinished } from '@archfarm/proto';
import type { AgentCalls } from './coordinator-client';
import type { ContextCache } from './context-cache';
import { StateDirUnwritableError, classifyThrown, unpackedTree, type Engine } from './engine';
import { SmokeTestFailedError } from './errors';
import { LogShipper } from './log-shipper';
import { pushAuth, pushSavedImage, sourceDateEpochOf } from './push';

export interface JobRunnerDeps {
  agentName: string;
  engine: Engine;
  contexts: ContextCache;
  /** The current connection's client (it changes when the agent reconnects). */
  client: () => AgentCalls;
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

/** What a running job tells the agent. */
export interface JobEvents {
  /** The context is here and the engine starts: the agent sends Started. */
  started: () => void;
  /** The coordinator refused the attempt's log as stale: the agent drops the attempt. */
  stale: () => void;
}

/**
 * Runs one assigned job: fetch the context, build with the engine through BuildKit, push
 * the image by digest (never by tag), ship the log. Resolves to the Finished message,
 * failures included, whatever throws; it never rejects. `dropped` aborts when the attempt is
 * no longer this agent's (Cancel, a Welcome that did not resume it, a freeze): the engine's
 * work stops and the log's pending uploads are dropped; the agent then ignores the result.
 */
export async function runJob(deps: JobRunnerDeps, assign: Assign, dropped: AbortSignal, events: JobEvents): Promise<JobFinished> {
  const base: JobFinished = { jobId: assign.jobId, attempt: assign.attempt, digest: '', mediaType: '', size: 0, error: undefined, bases: [] };
  try {
    return await attempt(deps, assign, dropped, events, base);
  } catch (err) {
    // Only a bug of ours gets here; the job still ends, with what went wrong.
    deps.logger.error({ jobId: assign.jobId, err: errorMessage(err) }, 'job runner failed');
    return { ...base, error: toErrorInfo(classifyThrown(err, { stateDir: deps.stateDir })) };
  }
}

async function attempt(deps: JobRunnerDeps, assign: Assign, dropped: AbortSignal, events: JobEvents, base: JobFinished): Promise<JobFinished> {
  const spec = assign.spec!;
  const logger = deps.logger.child({ buildId: spec.buildId, jobId: assign.jobId, attempt: assign.attempt });
  const spoolPath = join(deps.stateDir, 'logs', `${assign.jobId}.${assign.attempt}.log`);
  // The engine's work: stopped when the attempt is dropped, or when its log cannot be spooled.
  const work = new AbortController();
  let spoolError: ArchfarmError | undefined;
  const log = new LogShipper(deps.client, assign.jobId, assign.attempt, spoolPath, deps.logger, {
    spoolFailed: (err) => {
      spoolError = spoolFailure(err, deps.stateDir, spoolPath);
      work.abort(spoolError);
    },
    stale: () => events.stale(),
  });
  const drop = () => {
    work.abort(dropped.reason);
    log.abandon();
  };
  if (dropped.aborted) drop();
  else dropped.addEventListener('abort', drop, { once: true });
  const localTag = `${localRepository(deps.agentName)}/${assign.jobId}:${assign.attempt}`;
  let result: JobFinished;
  try {
    result = { ...base, ...(await buildAndPush(deps, assign, localTag, work.signal, events, (line) => log.line(line))) };
    await log.settled();
    if (spoolError) throw spoolError;
  } catch (err) {
    const error = toErrorInfo(spoolError ?? classifyThrown(err, { stateDir: deps.stateDir })); // e.g. the agent's own full disk: DISK_FULL, retried
    if (!dropped.aborted) logger.warn({ error }, 'job failed');
    log.line(`archfarm: ERROR: ${error.message}`);
    result = { ...base, error };
  } finally {
    dropped.removeEventListener('abort', drop);
  }
  await finish(deps, log, localTag, dropped, logger);
  return result;
}

async function buildAndPush(deps: JobRunnerDeps, assign: Assign, localTag: string, signal: AbortSignal, events: JobEvents, line: (text: string) => void): Promise<Omit<JobFinished, 'jobId' | 'attempt' | 'error'>> {
  const spec = assign.spec!;
  const platform = Platform.parse(spec.platform);
  const epoch = sourceDateEpochOf(spec.buildArgs); // a bad value fails before the build, not after
  const fetchStart = Date.now();
  const contextPath = await deps.contexts.get(spec.contextDigest, signal);
  const buildStart = Date.now();
  events.started();
  line(`archfarm: building ${platform} on ${deps.agentName} (${modeFromWire(assign.mode)})`);
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
    onLog: line,
  });
  const buildEnd = Date.now();
  if (spec.smokeCommand.length > 0) await smoke(deps, assign, imageId, platform, signal, line);
  const pushStart = Date.now();
  const pushed = await push(deps, assign, imageId, { platform, epoch, signal }, line);
  line(`archfarm: pushed ${spec.repository}@${pushed.digest}`);
  // The agent's own account of where the job's time went (operators and bench/ read it).
  line(`archfarm: built in ${seconds(buildEnd - buildStart)} (context ${seconds(buildStart - fetchStart)}, push ${seconds(Date.now() - pushStart)})`);
  return { ...pushed, bases };
}

/** A spool write error as the job's error: always the state dir's (a full one, or one that cannot be written). */
function spoolFailure(err: unknown, stateDir: string, path: string): ArchfarmError {
  const typed = classifyThrown(err, { stateDir, path });
  if (typed instanceof ArchfarmError) return typed;
  const code = (err as { code?: unknown } | null)?.code;
  return new StateDirUnwritableError(stateDir, path, typeof code === 'string' ? code : 'error', errorMessage(err), { cause: err });
}

async function push(deps: JobRunnerDeps, assign: Assign, imageId: string, { platform, epoch, signal }: { platform: Platform; epoch: number | undefined; signal: AbortSignal }, onProgress: (line: string) => void) {
  const spec = assign.spec!;
  const target = ImageRef.parse(spec.repository, 'repository');
  const client = new RegistryClient(target.registry, {
    insecure: spec.insecureRegistry,
    ...pushAuth(assign, target.registry, target.repository),
    logger: deps.logger,
    userAgent: 'archfarm-agent',
  });
  const workDir = join(deps.stateDir, 'work', `${assign.jobId}-${assign.attempt}`);
  try {
    onProgress(`archfarm: pushing to ${target.name} by digest`);
    const tar = await deps.engine.saveImage(imageId);
    if (epoch !== undefined) onProgress(`archfarm: SOURCE_DATE_EPOCH=${epoch}: layer and config times clamped to it`);
    const pushed = await pushSavedImage(tar, { client, repository: target.repository, workDir, logger: deps.logger, onProgress, platform, epoch, annotations: spec.manifestAnnotations, signal });
    return { digest: pushed.digest, mediaType: pushed.mediaType, size: pushed.size };
  } finally {
    // A state dir gone read-only fails here too: the push's own error is the one to keep.
    await rm(workDir, { recursive: true, force: true }).catch((err: unknown) => deps.logger.warn({ workDir, err: errorMessage(err) }, 'cannot remove the push work dir'));
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
