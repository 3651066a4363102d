import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentServiceClient, BuildMode, createClient, Hello, type AgentMessage, type AgentServiceService, type Assign, type CoordinatorMessage, type TypedClient } from '@archfarm/proto';
import { BENCH_CLIENT } from '../lib/operator';
import type { SimIdentity } from './certs';

/** What a simulated agent reports as the pushed image of a platform (a real one, pushed once). */
export interface PushedImage {
  digest: string;
  mediaType: string;
  size: number;
}

/** What the scale benchmark hears from every simulated agent. */
export interface SimEvents {
  assigned(agent: string, assign: Assign, at: number): void;
  finished(agent: string, assign: Assign, at: number): void;
  heartbeat(): void;
}

export interface SimAgentOptions {
  address: string;
  caPem: string;
  identity: SimIdentity;
  /** The one platform it says it builds natively, e.g. linux/arm64. */
  platform: string;
  slots: number;
  /** The "build": a timed sleep instead of the engine. */
  buildMs: number;
  image: (platform: string) => PushedImage;
  events: SimEvents;
}

/**
 * A SIMULATED agent: the real agent protocol (mTLS Connect stream, Hello, heartbeats at the
 * interval the Welcome sets, Accepted, Started, Finished) over its own gRPC connection, with
 * the build step replaced by a timed sleep. It reports the digest of a tiny real image pushed
 * once per platform, so the coordinator's check-and-publish of each build is the real one.
 */
export class SimulatedAgent {
  private readonly client: TypedClient<AgentServiceClient, AgentServiceService>;
  private stream: ClientDuplexStream<AgentMessage, CoordinatorMessage> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, { timer: NodeJS.Timeout; attempt: number; leaseId: number }>();
  private closed = false;

  constructor(private readonly options: SimAgentOptions) {
    const { caPem, identity } = options;
    const mtls = credentials.createSsl(Buffer.from(caPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem));
    this.client = createClient(AgentServiceClient, options.address, mtls, {
      'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME,
      'grpc.default_authority': COORDINATOR_TLS_NAME,
      // As the real agent: pings keep NAT mappings open; the coordinator allows one per 10 s.
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    }, BENCH_CLIENT);
  }

  get name(): string {
    return this.options.identity.name;
  }

  /** Opens the stream and says Hello; resolves on the Welcome. */
  connect(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no Welcome in ${timeoutMs} ms`)), timeoutMs);
      const stream = this.client.connect();
      this.stream = stream;
      stream.on('data', (message: CoordinatorMessage) => {
        const msg = message.msg;
        if (msg?.$case === 'welcome') {
          clearTimeout(timer);
          this.startHeartbeats(msg.value.heartbeatIntervalMs);
          resolve();
        } else if (msg?.$case === 'assign') this.onAssign(msg.value);
        else if (msg?.$case === 'cancel') this.onCancel(msg.value.jobId);
      });
      stream.on('error', (err: Error) => {
        clearTimeout(timer);
        if (!this.closed) reject(err);
      });
      stream.write({ msg: { $case: 'hello', value: this.hello() } });
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const { timer } of this.running.values()) clearTimeout(timer);
    this.running.clear();
    this.stream?.cancel();
    this.client.close();
  }

  private hello(): Hello {
    return Hello.fromPartial({
      name: this.name,
      version: 'bench-simulated',
      protocol: PROTOCOL_VERSION,
      platforms: [{ platform: this.options.platform, mode: BuildMode.BUILD_MODE_NATIVE }],
      slots: this.options.slots,
      engine: 'simulated: a timed sleep, no engine',
      labels: { simulated: 'true' },
      running: [],
    });
  }

  private startHeartbeats(intervalMs: number): void {
    // Spread agents over the interval, as real agents that started at different times are.
    const first = Math.floor(Math.random() * intervalMs);
    setTimeout(() => {
      if (this.closed) return;
      this.beat();
      this.heartbeat = setInterval(() => this.beat(), intervalMs);
    }, first);
  }

  private beat(): void {
    this.send({ msg: { $case: 'heartbeat', value: { held: [...this.running].map(([jobId, r]) => ({ jobId, attempt: r.attempt, leaseId: r.leaseId })) } } });
    this.options.events.heartbeat();
  }

  private onAssign(assign: Assign): void {
    const at = Date.now();
    const { jobId, attempt } = assign;
    if (this.running.size >= this.options.slots || !assign.spec) {
      this.send({ msg: { $case: 'rejected', value: { jobId, attempt, reason: 'no free slot' } } });
      return;
    }
    this.options.events.assigned(this.name, assign, at);
    this.send({ msg: { $case: 'started', value: { jobId, attempt } } });
    const timer = setTimeout(() => {
      this.running.delete(jobId);
      const image = this.options.image(assign.spec!.platform);
      this.send({ msg: { $case: 'finished', value: { jobId, attempt, ...image, error: undefined, bases: [] } } });
      this.options.events.finished(this.name, assign, Date.now());
    }, this.options.buildMs);
    this.running.set(jobId, { timer, attempt, leaseId: assign.leaseId });
  }

  private onCancel(jobId: string): void {
    clearTimeout(this.running.get(jobId)?.timer);
    this.running.delete(jobId);
  }

  private send(message: AgentMessage): void {
    if (!this.closed) this.stream?.write(message);
  }
}
