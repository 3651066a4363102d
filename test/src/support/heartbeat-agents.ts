import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { AgentServiceClient, BuildMode, type AgentMessage, type Assign, type CoordinatorMessage } from '@archfarm/proto';
import { PROTOCOL_VERSION } from '@archfarm/common';

/*
 * Simulated agents for an --insecure coordinator, each on its own Connect stream (real gRPC),
 * as bench/src/sim/sim-agent.ts runs them with certificates: Hello, then a heartbeat every
 * `intervalMs` holding every attempt assigned to it, and no work. What the test asks of them
 * is only what a lease needs: that the coordinator hears them on time.
 */
export class HeartbeatAgents {
  readonly held = new Map<string, Assign[]>();
  /** Cancels received, by agent: a lease that expired is cancelled on its old agent. */
  readonly cancels: Array<{ agent: string; jobId: string }> = [];
  private readonly streams: Array<ClientDuplexStream<AgentMessage, CoordinatorMessage>> = [];
  private readonly clients: AgentServiceClient[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(address: string, count: number, platform: string, intervalMs: number) {
    for (let i = 0; i < count; i++) this.connect(address, `hb-${String(i).padStart(3, '0')}`, platform);
    this.timer = setInterval(() => this.beat(), intervalMs);
  }

  /** Attempts held over all agents. */
  get leases(): number {
    return [...this.held.values()].reduce((n, list) => n + list.length, 0);
  }

  close(): void {
    clearInterval(this.timer);
    for (const stream of this.streams) stream.cancel();
    for (const client of this.clients) client.close();
  }

  private connect(address: string, name: string, platform: string): void {
    const client = new AgentServiceClient(address, credentials.createInsecure());
    const stream = client.connect();
    const held: Assign[] = [];
    this.held.set(name, held);
    stream.on('data', (m: CoordinatorMessage) => {
      if (m.msg?.$case === 'assign') held.push(m.msg.value);
      if (m.msg?.$case === 'cancel') this.cancels.push({ agent: name, jobId: m.msg.value.jobId });
    });
    stream.on('error', () => {});
    const hello = { name, version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'simulated', labels: {}, slots: 1, running: [] };
    stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform, mode: BuildMode.BUILD_MODE_NATIVE }] } } });
    this.streams.push(stream);
    this.clients.push(client);
  }

  private beat(): void {
    let i = 0;
    for (const held of this.held.values()) {
      const value = { held: held.map((a) => ({ jobId: a.jobId, attempt: a.attempt, leaseId: a.leaseId })) };
      this.streams[i++]!.write({ msg: { $case: 'heartbeat', value } });
    }
  }
}
