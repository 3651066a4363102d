import type { ChannelCredentials, ClientDuplexStream } from '@grpc/grpc-js';
import { agentServiceClient, type AgentCalls } from './coordinator-client';
import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, errorMessage, PROTOCOL_VERSION, protocolMismatch, type Logger } from '@archfarm/common';
import { remoteCodeOf, type AgentMessage, type Assign, type Cancel, type CoordinatorMessage, type Hello, type RunningJob, type Welcome } from '@archfarm/proto';

export interface ConnectionHandlers {
  hello: () => Hello;
  /** The attempts held now, for each heartbeat. */
  held: () => RunningJob[];
  /** The coordinator accepted the Hello: resume decisions for the jobs it listed. */
  onWelcome: (welcome: Welcome) => void;
  onAssign: (assign: Assign) => void;
  onCancel: (cancel: Cancel) => void;
}

const MIN_BACKOFF_MS = 500;
/** The coordinator waits this long (plus a lease) for agents after it restarts. */
const MAX_BACKOFF_MS = 15_000;

/**
 * The agent's one long-lived Connect stream. Agents dial out (they sit behind NAT), say
 * Hello, heartbeat at the interval the coordinator's Welcome sets, and reconnect with
 * exponential backoff and full jitter so a restarted coordinator is not stampeded.
 *
 * Connect has a TCP connection of its own (`control`); log uploads and context fetches use
 * `client`'s. HTTP/2 flow control is per stream, but all streams of one connection share its
 * socket: a heartbeat queued behind megabytes of log on a slow link (a VM's user-mode
 * network, a Pi on Wi-Fi) arrives late, and a lease must not run out for an agent that is busy.
 */
export class Connection {
  /** For bulk transfers: UploadLog, LogOffset, FetchContext. */
  client: AgentCalls;
  private control: AgentCalls;
  private stream: ClientDuplexStream<AgentMessage, CoordinatorMessage> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private welcomed = false;
  /** When the stream was last lost while not yet back (undefined while connected). */
  private downSince: number | undefined = Date.now();

  constructor(
    readonly address: string,
    private credentials: ChannelCredentials,
    private readonly handlers: ConnectionHandlers,
    private readonly logger: Logger,
  ) {
    this.client = this.makeClient();
    this.control = this.makeClient(true);
  }

  /** A renewed certificate: reconnect with it (running jobs resume on the new stream). */
  replaceCredentials(credentials: ChannelCredentials): void {
    const old = [this.client, this.control];
    this.credentials = credentials;
    this.client = this.makeClient();
    this.control = this.makeClient(true);
    this.stream?.end();
    setTimeout(() => old.forEach((c) => c.close()), 30_000).unref();
  }

  private makeClient(control = false): AgentCalls {
    return agentServiceClient(this.address, this.credentials, {
      // Its own subchannel pool: a connection no other channel to the coordinator shares.
      ...(control ? { 'grpc.use_local_subchannel_pool': 1 } : {}),
      // Pings keep NAT mappings open and find a dead coordinator; the server allows 10 s.
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
  }

  start(): void {
    this.open();
  }

  /** Sends on the live stream; false when there is none (the caller keeps what must arrive). */
  send(message: AgentMessage): boolean {
    if (!this.stream || !this.welcomed) return false;
    this.stream.write(message);
    return true;
  }

  /** Welcomed on a live stream: jobs can be taken and results reported. */
  get connected(): boolean {
    return this.stream !== undefined && this.welcomed;
  }

  /** How long the agent has been unable to reach the coordinator, in ms (0 when connected). */
  downFor(now = Date.now()): number {
    return this.downSince === undefined ? 0 : now - this.downSince;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.stream?.end();
    this.client.close();
    this.control.close();
  }

  private open(): void {
    const stream = this.control.connect();
    this.stream = stream;
    stream.write({ msg: { $case: 'hello', value: this.handlers.hello() } });
    stream.on('data', (message: CoordinatorMessage) => this.onMessage(message));
    stream.on('error', (err) => {
      // Told by name: retrying the same agent cannot help, upgrading one side does.
      if (remoteCodeOf(err) === 'PROTOCOL_MISMATCH') this.logger.error({ err: errorMessage(err) }, 'the coordinator refused this agent: protocol mismatch');
      this.onClosed(stream, errorMessage(err));
    });
    stream.on('end', () => this.onClosed(stream, 'coordinator ended the stream'));
  }

  private onMessage(message: CoordinatorMessage): void {
    const msg = message.msg;
    if (!msg) return;
    switch (msg.$case) {
      case 'welcome':
        this.failures = 0;
        this.welcomed = true;
        this.downSince = undefined;
        this.logger.info({ coordinator: msg.value.coordinatorVersion || 'older than versioning', protocol: msg.value.protocol }, 'connected to coordinator');
        this.checkProtocol(msg.value);
        this.handlers.onWelcome(msg.value);
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => this.send({ msg: { $case: 'heartbeat', value: { held: this.handlers.held() } } }), msg.value.heartbeatIntervalMs || 5000);
        return;
      case 'assign':
        return this.handlers.onAssign(msg.value);
      case 'cancel':
        return this.handlers.onCancel(msg.value);
    }
  }

  /** A coordinator speaking a protocol this agent does not know: said loudly, once per Welcome. */
  private checkProtocol(welcome: Welcome): void {
    const self = { name: `this agent (${ARCHFARM_VERSION})`, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS, upgrade: 'the agent' };
    const coordinator = { name: `the coordinator (${welcome.coordinatorVersion || 'older than versioning'})`, protocol: welcome.protocol, upgrade: 'the coordinator' };
    const mismatch = protocolMismatch(self, coordinator);
    if (mismatch) this.logger.error({ err: mismatch.message }, 'protocol mismatch with the coordinator');
  }

  private onClosed(stream: ClientDuplexStream<AgentMessage, CoordinatorMessage>, why: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.welcomed = false;
    this.downSince ??= Date.now();
    clearInterval(this.heartbeat);
    if (this.stopped) return;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.failures++);
    const delay = Math.round(Math.random() * ceiling) + MIN_BACKOFF_MS;
    this.logger.warn({ why, retryInMs: delay }, 'connection to coordinator lost');
    this.retry = setTimeout(() => this.open(), delay);
  }
}
