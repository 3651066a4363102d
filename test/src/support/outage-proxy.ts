import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the real registry that takes the registry away for a while at a
 * precise moment: when the first request line matching `trigger` arrives (e.g. the
 * coordinator's first GET of a manifest, which only the merge does), it drops every
 * connection and refuses new ones for `downMs`. To the coordinator this is exactly a
 * registry that stopped and came back; the registry itself stays real.
 */
export class OutageProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private triggered = false;
  /** When the outage started and ended (ms since epoch), once it happened. */
  outage: { start: number; end?: number } | undefined;
  port = 0;

  constructor(
    private readonly upstream: { host: string; port: number },
    private readonly trigger: RegExp,
    private readonly downMs: number,
  ) {}

  async start(port = 0): Promise<void> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.upstream.port, this.upstream.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('data', (data: Buffer) => {
      if (!this.triggered && this.trigger.test(data.toString('latin1').split('\r\n')[0] ?? '')) {
        this.triggered = true;
        void this.goDown();
        return;
      }
      upstream.write(data);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private async goDown(): Promise<void> {
    this.outage = { start: Date.now() };
    const port = this.port;
    await this.stop();
    await new Promise((resolve) => setTimeout(resolve, this.downMs));
    await this.start(port);
    this.outage.end = Date.now();
  }
}
