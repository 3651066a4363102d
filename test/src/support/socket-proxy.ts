import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A unix-socket proxy in front of an engine's API socket. `cut()` drops every connection
 * and removes the socket: to a client (the agent) this is exactly an engine that went away
 * mid-build (dockerd crashed or was restarted), without stopping the host's shared engine.
 */
export class SocketProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private dir = '';
  socketPath = '';

  constructor(private readonly upstream: string) {}

  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'archfarm-sockproxy-'));
    this.socketPath = join(this.dir, 'engine.sock');
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server!.listen(this.socketPath, resolve));
  }

  /** Drops every connection and stops listening (the socket file goes with the server). */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  async stop(): Promise<void> {
    await this.cut();
    await rm(this.dir, { recursive: true, force: true });
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.upstream);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
