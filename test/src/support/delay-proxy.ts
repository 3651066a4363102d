import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** One HTTP request the proxy saw: its request line, when it arrived and when it went on upstream. */
export interface SeenRequest {
  line: string;
  at: number;
  forwardedAt?: number;
}

/** Requests whose request line matches `match` are held for `delayMs` before they go upstream. */
export interface DelayRule {
  match: RegExp;
  delayMs: number;
}

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]$/;

/**
 * A TCP proxy in front of the real registry that holds chosen requests back for a while,
 * so a short moment of the coordinator's work (the publish between its manifest GETs and
 * its index PUT) lasts long enough for another process to land in it. It also records every
 * request line, and tells a test the moment a given request arrives. The registry stays real;
 * only time is stretched. Requests of one connection keep their order (HTTP/1.1 clients do
 * not pipeline, so a chunk that starts with a request line starts a request).
 */
export class DelayProxy {
  private readonly sockets = new Set<Socket>();
  private readonly waiters: Array<{ match: RegExp; resolve: (r: SeenRequest) => void }> = [];
  private server: Server | undefined;
  readonly seen: SeenRequest[] = [];
  port = 0;

  constructor(
    private readonly upstream: { host: string; port: number },
    private readonly rules: DelayRule[],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves with the first request (already seen or still to come) whose line matches. */
  next(match: RegExp): Promise<SeenRequest> {
    const seen = this.seen.find((r) => match.test(r.line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.upstream.port, this.upstream.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    let chain = Promise.resolve();
    client.on('data', (data: Buffer) => {
      const request = this.observe(data);
      const delay = request ? (this.rules.find((r) => r.match.test(request.line))?.delayMs ?? 0) : 0;
      chain = chain.then(async () => {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (request) request.forwardedAt = Date.now();
        if (!upstream.destroyed) upstream.write(data);
      });
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private observe(data: Buffer): SeenRequest | undefined {
    const line = data.subarray(0, 2048).toString('latin1').split('\r\n')[0] ?? '';
    if (!REQUEST_LINE.test(line)) return undefined;
    const request: SeenRequest = { line, at: Date.now() };
    this.seen.push(request);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.match.test(line)) {
        this.waiters.splice(i, 1);
        waiter.resolve(request);
      }
    }
    return request;
  }
}
