/**
 * Test support (not used by the agent): the coordinator's side of the agent protocol on a
 * real gRPC server on 127.0.0.1:0, with the service definition the coordinator serves. It
 * records what the agent says, lets a test send Assign and Cancel, keeps logs the way the
 * coordinator does (append at the committed offset), and can answer STALE_ATTEMPT.
 */
import { createHash } from 'node:crypto';
import { ARCHFARM_VERSION, PROTOCOL_VERSION } from '@archfarm/common';
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerDuplexStream, type ServerReadableStream, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceService,
  type AgentMessage,
  type Assign,
  type CoordinatorMessage,
  type FetchContextRequest,
  type DataChunk,
  type LogAck,
  type LogChunk,
  type LogOffsetRequest,
  type RunningJob,
} from '@archfarm/proto';
import { tarArchive } from '../engine';

type Sent = NonNullable<AgentMessage['msg']>;
type Case = Sent['$case'];
type Of<C extends Case> = Extract<Sent, { $case: C }>['value'];

export interface FakeCoordinatorOptions {
  leaseTtlMs?: number;
  heartbeatIntervalMs?: number;
}

export class FakeCoordinator {
  /** Everything the agent sent on Connect, in order. */
  readonly received: Sent[] = [];
  /** Upload calls per "jobId.attempt". */
  readonly uploads = new Map<string, number>();
  /** Attempts ("jobId.attempt") whose log uploads are refused as stale. */
  readonly stale = new Set<string>();
  /** Decides each Welcome's resume decisions; default: resume all. */
  resume: (held: RunningJob) => boolean = () => true;
  private readonly logs = new Map<string, Buffer>();
  private readonly contexts = new Map<string, Buffer>();
  private streams: Array<ServerDuplexStream<AgentMessage, CoordinatorMessage>> = [];
  private readonly waiters: Array<() => void> = [];
  private readonly server = new Server();
  port = 0;

  constructor(private readonly options: FakeCoordinatorOptions = {}) {
    this.server.addService(AgentServiceService, {
      connect: (call: ServerDuplexStream<AgentMessage, CoordinatorMessage>) => this.connect(call),
      fetchContext: (call: ServerWritableStream<FetchContextRequest, DataChunk>) => this.fetchContext(call),
      uploadLog: (call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>) => this.uploadLog(call, callback),
      logOffset: (call: { request: LogOffsetRequest }, callback: sendUnaryData<LogAck>) => {
        const key = `${call.request.jobId}.${call.request.attempt}`;
        if (this.stale.has(key)) callback(staleError(key));
        else callback(null, { committed: this.logs.get(key)?.length ?? 0 });
      },
    });
  }

  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) => this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    return this;
  }

  stop(): void {
    for (const s of this.streams) s.end();
    this.server.forceShutdown();
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A context the agent can fetch; returns its digest. */
  addContext(files: Record<string, string>): string {
    const bytes = tarArchive(Object.entries(files).map(([path, data]) => ({ path, data })));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    this.contexts.set(digest, bytes);
    return digest;
  }

  /** Sends to the agent on its current stream. */
  send(message: CoordinatorMessage): void {
    const stream = this.streams.at(-1);
    if (!stream) throw new Error('no agent connected');
    stream.write(message);
  }

  assign(assign: Assign): void {
    this.send({ msg: { $case: 'assign', value: assign } });
  }

  cancel(jobId: string, attempt: number, reason = 'moved to another agent'): void {
    this.send({ msg: { $case: 'cancel', value: { jobId, attempt, reason } } });
  }

  /** Ends the agent's stream, as a coordinator restart would. */
  dropStream(): void {
    this.streams.at(-1)?.end();
  }

  /** What the agent sent of one kind, e.g. all 'finished'. */
  all<C extends Case>(kind: C): Array<Of<C>> {
    return this.received.filter((m): m is Extract<Sent, { $case: C }> => m.$case === kind).map((m) => m.value as Of<C>);
  }

  /** Waits until `pick` finds something in what the agent sent. */
  async waitFor<T>(what: string, pick: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = pick();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the agent sent: ${JSON.stringify(this.received.map((m) => m.$case))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The log the coordinator holds for an attempt. */
  log(jobId: string, attempt: number): string {
    return this.logs.get(`${jobId}.${attempt}`)?.toString() ?? '';
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private connect(call: ServerDuplexStream<AgentMessage, CoordinatorMessage>): void {
    this.streams.push(call);
    call.on('data', (message: AgentMessage) => {
      const msg = message.msg;
      if (!msg) return;
      this.received.push(msg);
      if (msg.$case === 'hello') {
        const resume = msg.value.running.map((r) => ({ jobId: r.jobId, attempt: r.attempt, resume: this.resume(r) }));
        call.write({ msg: { $case: 'welcome', value: { heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 200, leaseTtlMs: this.options.leaseTtlMs ?? 30_000, resume, coordinatorVersion: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION } } });
      }
      this.notify();
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  }

  private fetchContext(call: ServerWritableStream<FetchContextRequest, DataChunk>): void {
    const bytes = this.contexts.get(call.request.digest);
    if (!bytes) return void call.emit('error', { code: status.FAILED_PRECONDITION, details: `no context ${call.request.digest}` });
    call.write({ data: bytes });
    call.end();
  }

  private uploadLog(call: ServerReadableStream<LogChunk, LogAck>, callback: sendUnaryData<LogAck>): void {
    let key = '';
    let refused = false;
    call.on('data', (chunk: LogChunk) => {
      key = `${chunk.jobId}.${chunk.attempt}`;
      if (refused) return;
      if (this.stale.has(key)) {
        refused = true;
        return;
      }
      const log = this.logs.get(key) ?? Buffer.alloc(0);
      if (chunk.offset <= log.length) this.logs.set(key, Buffer.concat([log, Buffer.from(chunk.data).subarray(log.length - chunk.offset)]));
    });
    call.on('end', () => {
      this.uploads.set(key, (this.uploads.get(key) ?? 0) + 1);
      this.notify();
      if (refused) callback(staleError(key));
      else callback(null, { committed: this.logs.get(key)?.length ?? 0 });
    });
  }
}

/** What the coordinator answers for an attempt it no longer grants (StaleAttemptError through its toServiceError). */
function staleError(key: string): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('archfarm-code', 'STALE_ATTEMPT');
  return { code: status.UNAVAILABLE, details: `job attempt ${key} is not current; stop that work`, metadata };
}
