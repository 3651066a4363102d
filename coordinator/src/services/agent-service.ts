import { randomBytes } from 'node:crypto';
import type { ServerDuplexStream, ServerReadableStream, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { Platform, errorMessage, type Logger } from '@archfarm/common';
import {
  modeFromWire,
  type AgentMessage,
  type AgentServiceServer,
  type CoordinatorMessage,
  type DataChunk,
  type FetchContextRequest,
  type Hello,
  type LogAck,
  type LogChunk,
} from '@archfarm/proto';
import type { BuildManager } from '../builds/build-manager';
import type { ContextStore } from '../context-store';
import { BadHelloError } from '../errors';
import type { ConnectedAgent, Fleet } from '../fleet';
import { identityOf } from '../security/authorizer';
import { toServiceError } from './grpc-errors';
import { checkAgentName, unary } from './unary';
import { writeAll } from './stream-util';

export interface AgentServiceDeps {
  fleet: Fleet;
  builds: BuildManager;
  contexts: ContextStore;
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  logger: Logger;
}

/** The coordinator's side of the agents' API: the Connect stream, context fetch, log upload. */
export function agentService(deps: AgentServiceDeps): AgentServiceServer {
  return {
    connect: (call) => handleConnect(deps, call),
    fetchContext: (call) => void fetchContext(deps, call),
    uploadLog: (call, callback) => void uploadLog(deps, call, callback),
    logOffset: unary((req) => ({ committed: deps.builds.logOffset(req.jobId, req.attempt) })),
  };
}

function handleConnect(deps: AgentServiceDeps, call: ServerDuplexStream<AgentMessage, CoordinatorMessage>): void {
  let agent: ConnectedAgent | undefined;
  const gone = () => {
    if (agent) deps.fleet.remove(agent);
    agent = undefined;
  };
  call.on('data', (message: AgentMessage) => {
    try {
      if (!agent) {
        agent = onHello(deps, call, message);
        return;
      }
      onAgentMessage(deps, agent, message);
    } catch (err) {
      deps.logger.warn({ agent: agent?.name, err: errorMessage(err) }, 'agent stream refused');
      call.emit('error', toServiceError(err));
      gone();
    }
  });
  call.on('end', () => {
    gone();
    call.end();
  });
  call.on('error', gone);
  call.on('cancelled', gone);
}

function onHello(deps: AgentServiceDeps, call: ServerDuplexStream<AgentMessage, CoordinatorMessage>, message: AgentMessage): ConnectedAgent {
  if (message.msg?.$case !== 'hello') throw new BadHelloError('the first message on Connect must be Hello');
  const hello = message.msg.value;
  const who = identityOf(call);
  // An agent is who its certificate says; it cannot take over another agent's name or jobs.
  if (who.kind === 'agent' && who.name !== hello.name) throw new BadHelloError(`this certificate belongs to agent ${who.name}, not ${hello.name}`);
  const agent: ConnectedAgent = {
    ...profile(hello),
    connectionId: randomBytes(6).toString('hex'),
    connectedAt: Date.now(),
    lastSeen: Date.now(),
    jobs: new Set(),
    send: (m) => void call.write(m),
    close: () => call.end(),
  };
  deps.fleet.add(agent);
  const resume = deps.builds.resume(agent, hello.running);
  call.write({ msg: { $case: 'welcome', value: { heartbeatIntervalMs: deps.heartbeatIntervalMs, leaseTtlMs: deps.leaseTtlMs, resume } } });
  deps.logger.info({ agent: agent.name, platforms: agent.platforms.map((p) => `${p.platform} ${p.mode}`), slots: agent.slots }, 'agent connected');
  return agent;
}

function profile(hello: Hello): Omit<ConnectedAgent, 'connectionId' | 'connectedAt' | 'lastSeen' | 'jobs' | 'send' | 'close'> {
  checkAgentName(hello.name, 'hello.name');
  if (hello.slots < 1) throw new BadHelloError(`agent ${hello.name} offers ${hello.slots} slots; it needs at least 1`);
  return {
    name: hello.name,
    version: hello.version,
    nodeVersion: hello.nodeVersion,
    engine: hello.engine,
    labels: hello.labels,
    slots: hello.slots,
    platforms: platformsOf(hello.platforms),
  };
}

function platformsOf(list: Hello['platforms']): ConnectedAgent['platforms'] {
  return list.map((p) => ({ platform: Platform.parse(p.platform, 'hello.platforms'), mode: modeFromWire(p.mode) }));
}

function onAgentMessage(deps: AgentServiceDeps, agent: ConnectedAgent, message: AgentMessage): void {
  const msg = message.msg;
  if (!msg || msg.$case === 'hello') return;
  // Any message proves the agent alive: its leases run for another TTL.
  agent.lastSeen = Date.now();
  deps.builds.renewLeases(agent);
  if (msg.$case === 'heartbeat') return;
  if (msg.$case === 'capabilities') {
    deps.logger.info({ agent: agent.name, platforms: msg.value.platforms.map((p) => p.platform) }, 'agent capabilities changed');
    return deps.fleet.update(agent, platformsOf(msg.value.platforms));
  }
  const { jobId, attempt } = msg.value;
  const job = deps.builds.current(agent.name, jobId, attempt);
  if (!job) {
    // Fencing: this attempt is not the job's current one here; the agent must stop it.
    deps.logger.warn({ agent: agent.name, jobId, attempt, message: msg.$case }, 'stale attempt refused');
    if (msg.$case !== 'finished') agent.send({ msg: { $case: 'cancel', value: { jobId, attempt, reason: 'attempt is no longer current' } } });
    return;
  }
  switch (msg.$case) {
    case 'rejected':
      return deps.builds.fail(job, { code: 'JOB_REJECTED', message: `agent ${agent.name} rejected the job: ${msg.value.reason}`, kind: 'infrastructure' });
    case 'started':
      return deps.builds.markRunning(job);
    case 'finished':
      if (msg.value.error) return deps.builds.fail(job, msg.value.error);
      return deps.builds.succeed(job, msg.value.digest, msg.value.bases);
  }
}

async function fetchContext(deps: AgentServiceDeps, call: ServerWritableStream<FetchContextRequest, DataChunk>): Promise<void> {
  try {
    const source = await deps.contexts.open(call.request.digest);
    await writeAll(call, source, (data: Buffer) => ({ data }));
    call.end();
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}

async function uploadLog(deps: AgentServiceDeps, call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>): Promise<void> {
  let committed = 0;
  try {
    for await (const chunk of call as AsyncIterable<LogChunk>) {
      committed = deps.builds.appendLog(chunk.jobId, chunk.attempt, chunk.offset, Buffer.from(chunk.data));
    }
    callback(null, { committed });
  } catch (err) {
    callback(toServiceError(err));
  }
}
