import type { ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import { InvalidInputError, type Logger } from '@archfarm/common';
import {
  type BuildServiceServer,
  type UploadContextRequest,
  type UploadContextResponse,
} from '@archfarm/proto';
import type { BuildSide, ResolveSpec } from '../builds/build-manager';
import type { ContextStore } from '../context-store';
import { BuildNotFoundError, RequestAbandonedError, TooManyBuildsError } from '../errors';
import { identityOf } from '../security/authorizer';
import { checkSubmitLimits } from '../security/limits';
import type { LogFiles } from '../builds/log-files';
import type { Store } from '../store';
import { buildDetails } from './build-details';
import { buildStateToWire } from '../builds/wire-state';
import { streamLogs } from './stream-logs';
import { watchBuild } from './watch-build';
import { WatchQuota } from './watch-quota';
import { toServiceError } from './grpc-errors';
import { unary } from './unary';
import type { AgentAdmin } from './agent-admin';
import type { Dispatcher } from '../builds/dispatcher';
import { listBuildsQuery } from './list-builds';
import { planBuild } from './plan-build';
import { materialiseContext, validateBuild, type GitFetcher } from './validate-build';
import { checkContext } from './check-context';

export interface BuildServiceDeps {
  agents: AgentAdmin;
  dispatcher: Dispatcher;
  crossCompile: (contextDigest: string, dockerfile: string) => Promise<boolean>;
  builds: BuildSide;
  store: Store;
  logs: LogFiles;
  contexts: ContextStore;
  /** Fetches git contexts (SubmitBuildRequest.git) into `contexts`. */
  git: GitFetcher;
  /** Completes a validated spec (credentials, cross-compile analysis): the step restore uses too. */
  resolveSpec: ResolveSpec;
  /** Running builds one operator token may have at once. */
  maxPendingBuilds: number;
  logger: Logger;
}

/** The operators' API behind the `archfarm` CLI. */
export function buildService(deps: BuildServiceDeps): BuildServiceServer {
  // One count of open watches per coordinator, shared by WatchBuild and StreamLogs.
  const watching = { ...deps, watches: new WatchQuota() };
  return {
    uploadContext: (call, callback) => void uploadContext(deps, call, callback),
    hasContext: unary(async (req) => ({ present: await deps.contexts.has(req.digest) })),
    submitBuild: unary(async (req, call) => {
      checkSubmitLimits(req);
      const valid = validateBuild(req);
      const owner = ownerOf(call);
      if (owner && deps.builds.active().filter((b) => b.owner === owner).length >= deps.maxPendingBuilds) {
        throw new TooManyBuildsError(deps.maxPendingBuilds);
      }
      // After the cheap checks: a git context costs a fetch.
      const spec = await materialiseContext(valid, deps.git);
      // A fetch can outlast the client's deadline: a build it no longer waits for must not start.
      if ((call as { cancelled?: boolean }).cancelled) throw new RequestAbandonedError('SubmitBuild');
      await checkContext(deps.contexts, spec);
      const resolved = await deps.resolveSpec(spec, req.registryAuth);
      return { buildId: (await deps.builds.submit(resolved, req.registryAuth, owner)).id };
    }),
    watchBuild: (call) => watchBuild(watching, call),
    // Answers with the state the build ended in: a cancel during publish waits for the
    // publish to stop before its index PUT (cancelled) or to finish (published).
    cancelBuild: unary(async (req) => {
      if (deps.builds.has(req.buildId)) return { state: buildStateToWire(await deps.builds.cancel(req.buildId)) };
      // A build no longer in memory has ended: cancelling it changes nothing.
      const stored = await deps.store.getBuild(req.buildId);
      if (!stored) throw new BuildNotFoundError(req.buildId);
      return { state: buildStateToWire(stored.build.state) };
    }),
    listAgents: unary(async (req) => ({ agents: await deps.agents.list(req.all) })),
    drainAgent: unary((req) => deps.agents.setDrained(req.name, true)),
    resumeAgent: unary((req) => deps.agents.setDrained(req.name, false)),
    planBuild: unary((req) => planBuild(req, deps.contexts, deps.git, deps.dispatcher, deps.crossCompile)),
    inspectBuild: unary(async (req) => {
      const stored = await deps.store.getBuild(req.buildId);
      if (!stored) throw new BuildNotFoundError(req.buildId);
      return buildDetails(stored);
    }),
    listBuilds: unary(async (req) => {
      const { limit, filter } = listBuildsQuery(req, Date.now());
      const records = await deps.store.listBuilds(limit, filter);
      const full = await Promise.all(records.map((b) => deps.store.getBuild(b.id)));
      return { builds: full.flatMap((f) => (f ? [buildDetails(f)] : [])) };
    }),
    streamLogs: (call) => void streamLogs(watching, call),
  };
}

async function uploadContext(
  deps: BuildServiceDeps,
  call: ServerReadableStream<UploadContextRequest, UploadContextResponse>,
  callback: sendUnaryData<UploadContextResponse>,
): Promise<void> {
  try {
    const messages = (call as AsyncIterable<UploadContextRequest>)[Symbol.asyncIterator]();
    const first = await messages.next();
    const header = first.done ? undefined : first.value.msg;
    if (header?.$case !== 'header') throw new InvalidInputError('upload', 'the first message must be the context header (digest, size)');
    const { digest, size } = header.value;
    async function* data(): AsyncIterable<Buffer> {
      for (let next = await messages.next(); !next.done; next = await messages.next()) {
        if (next.value.msg?.$case !== 'data') throw new InvalidInputError('upload', 'only data messages may follow the header');
        yield Buffer.from(next.value.msg.value);
      }
    }
    if (await deps.contexts.has(digest)) {
      // Already stored: drain what the client sends anyway.
      for await (const _ of data());
    } else {
      await deps.contexts.write(digest, size, data());
      deps.logger.info({ digest, size }, 'context stored');
    }
    callback(null, { digest, size });
  } catch (err) {
    callback(toServiceError(err));
  }
}

/** The operator token that submits, so one operator cannot fill the queue for everyone. */
function ownerOf(call: object): string | undefined {
  const who = identityOf(call);
  return who.kind === 'operator' ? who.tokenId : undefined;
}
