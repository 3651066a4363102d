import { randomBytes } from 'node:crypto';
import type { ServerDuplexStream, ServerReadableStream, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { ARCHFARM_VERSION, Platform, PROTOCOL_VERSION, errorMessage, type Logger } from '@archfarm/common';
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
import type { AgentSide } from '../builds/build-manager';
import type { ContextStore } from '../context-store';
import { BadHelloError } from '../errors';
import type { ConnectedAgent, Fleet } from '../fleet';
import { identityOf } from '../security/authorizer';
import { agentMachine } from '../provenance/agent-machine';
import { refuseCaller } from '../version/protocol-check';
import { toServiceError } from './grpc-errors';
import { checkAgentName, unary } from './unary';
import { writeAll } from './stream-util';

export interface AgentServiceDeps {
  fleet: Fleet;
  builds: AgentSide;
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
    logOffset: unary((req, call) => ({ committed: deps.builds.logOffset(agentName(call), req.jobId, req.attempt) })),
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
  // Before anything of the Hello is believed: a protocol this coordinator does not speak may mean other things by it.
  const mismatch = refuseCaller({ program: 'agent', version: hello.version, protocol: hello.protocol });
  if (mismatch) throw mismatch;
  const who = identityOf(call);
  // An agent is who its certificate says; it cannot take over another agent's name or jobs.
  if (who.kind === 'agent' && who.name !== hello.name) throw new BadHelloError(`this certificate belongs to agent ${who.name}, not ${hello.name}`);
  const agent: ConnectedAgent = {
    ...profile(hello),
    machine: agentMachine(hello, call.getAuthContext().sslPeerCertificate),
    // The join token's labels outrank the agent's own, so --require-label is a boundary.
    ...(who.kind === 'agent' ? { labels: { ...hello.labels, ...who.labels } } : {}),
    connectionId: randomBytes(6).toString('hex'),
    connectedAt: Date.now(),
    lastSeen: Date.now(),
    send: (m) => void call.write(m),
    close: () => call.end(),
  };
  deps.fleet.add(agent);
  const resume = deps.builds.connected(agent.name, hello.running);
  call.write({ msg: { $case: 'welcome', value: { heartbeatIntervalMs: deps.heartbeatIntervalMs, leaseTtlMs: deps.leaseTtlMs, resume, coordinatorVersion: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION } } });
  deps.logger.info({ agent: agent.name, platforms: agent.platforms.map((p) => `${p.platform} ${p.mode}`), slots: agent.slots }, 'agent connected');
  return agent;
}

function profile(hello: Hello): Omit<ConnectedAgent, 'connectionId' | 'connectedAt' | 'lastSeen' | 'send' | 'close'> {
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
  agent.lastSeen = Date.now();
  // Each report is fenced by its attempt in the build lifecycle: a stale one changes nothing
  // and, where the agent may still be working on it, is answered with Cancel.
  switch (msg.$case) {
    case 'heartbeat':
      return deps.builds.heartbeat(agent.name, msg.value.held);
    case 'capabilities':
      deps.logger.info({ agent: agent.name, platforms: msg.value.platforms.map((p) => p.platform) }, 'agent capabilities changed');
      return deps.fleet.update(agent, platformsOf(msg.value.platforms));
    case 'rejected':
      return deps.builds.rejected(agent.name, msg.value.jobId, msg.value.attempt, msg.value.reason);
    case 'started':
      return deps.builds.started(agent.name, msg.value.jobId, msg.value.attempt);
    case 'finished':
      return deps.builds.finished(agent.name, msg.value);
  }
}

async function fetchContext(deps: AgentServiceDeps, call: ServerWritableStream<FetchContextRequest, DataChunk>): Promise<void> {
  try {
    deps.builds.checkContextHeld(agentName(call), call.request.digest);
    const source = await deps.contexts.open(call.request.digest);
    await writeAll(call, source, (data: Buffer) => ({ data }));
    call.end();
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}

async function uploadLog(deps: AgentServiceDeps, call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>): Promise<void> {
  let committed = 0;
  const agent = agentName(call);
  try {
    for await (const chunk of call as AsyncIterable<LogChunk>) {
      committed = deps.builds.appendLog(agent, chunk.jobId, chunk.attempt, chunk.offset, Buffer.from(chunk.data));
    }
    callback(null, { committed });
  } catch (err) {
    callback(toServiceError(err));
  }
}

/** The calling agent's certificate name; undefined only on a coordinator without TLS (no identities). */
function agentName(call: object): string | undefined {
  const who = identityOf(call);
  return who.kind === 'agent' ? who.name : undefined;
}
