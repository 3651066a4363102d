import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from './errors';
import type { Logger } from './logger';

/** What a daemon's operations listener serves: its metrics text and whether it is ready. */
export interface OpsEndpoints {
  /** The Prometheus text exposition and its content type (prom-client's Registry.metrics()). */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** /readyz answers 200 while this holds, 503 otherwise. */
  ready(): boolean;
}

/**
 * The daemons' plain-HTTP listener for kubelet and Prometheus (--http-listen): /metrics,
 * /healthz (200 while the process runs) and /readyz. Off the gRPC port on purpose: neither
 * probe nor scraper has a client certificate. It serves nothing else and reads no body, so
 * there is nothing on it to authenticate; it belongs on loopback or a private network.
 */
export class OpsHttpServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on host:port (port 0 picks one); resolves once bound. */
  static async listen(host: string, port: number, endpoints: OpsEndpoints, logger: Logger): Promise<OpsHttpServer> {
    const server = createServer((req, res) => void answer(req, res, endpoints, logger));
    // Probes and scrapes are short: a stalled client is dropped rather than kept.
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new OpsHttpServer(server, (server.address() as AddressInfo).port);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, endpoints: OpsEndpoints, logger: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
  try {
    switch (path) {
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/readyz':
        return endpoints.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready\n');
      case '/metrics': {
        const { contentType, body } = await endpoints.metrics();
        return send(res, 200, contentType, body);
      }
      default:
        return send(res, 404, 'text/plain', 'not found\n');
    }
  } catch (err) {
    logger.warn({ path, err: errorMessage(err) }, 'ops endpoint failed');
    return send(res, 500, 'text/plain', 'internal error\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
