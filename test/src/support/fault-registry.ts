import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { freePort } from './processes';

/**
 * Registries that fail the way real ones do, on a loopback port of their own, so the engines'
 * own error texts for each fault can be captured (agent/src/engine/failure-texts.ts holds them):
 * nothing listening, a port that takes the connection and never answers, a registry that
 * answers every request with 429 (Docker Hub's rate limit) or 503 (an overloaded proxy).
 */
export interface FaultRegistry {
  /** host:port to name in a FROM. */
  readonly address: string;
  stop(): Promise<void>;
}

/** A port nothing listens on (taken and released): connecting is refused. */
export async function refusingRegistry(): Promise<FaultRegistry> {
  const port = await freePort();
  return { address: `127.0.0.1:${port}`, stop: () => Promise.resolve() };
}

/** Takes every connection and never answers a byte: a registry that hangs. */
export async function silentRegistry(): Promise<FaultRegistry> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Answers every request with `status`: 429 with the distribution spec's TOOMANYREQUESTS body
 * and a Retry-After (as Docker Hub does), 5xx with a plain-text body (as a proxy in front does).
 */
export async function statusRegistry(status: number): Promise<FaultRegistry> {
  const server = createHttpServer((req, res) => {
    req.resume();
    if (status === 429) {
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1', 'Docker-Distribution-Api-Version': 'registry/2.0' });
      res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.', detail: null }] }));
      return;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(`${status} Service Unavailable\n`);
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
