/**
 * Test support (not used by the agent): the few routes of the distribution API a push by
 * digest takes (HEAD and upload of blobs, PUT of a manifest), on 127.0.0.1:0, kept in memory.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakeRegistry {
  /** Manifests put, by the reference in their URL. */
  readonly manifests = new Map<string, Buffer>();
  private readonly blobs = new Set<string>();
  private server: Server | undefined;
  private uploads = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://registry');
        const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
        const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
        if (req.method === 'HEAD' && blob) return void res.writeHead(this.blobs.has(blob[2]!) ? 200 : 404).end();
        if (req.method === 'POST' && url.pathname.endsWith('/blobs/uploads/')) {
          return void res.writeHead(202, { location: `${url.pathname}u-${++this.uploads}` }).end();
        }
        if (req.method === 'PUT' && url.pathname.includes('/blobs/uploads/')) {
          this.blobs.add(url.searchParams.get('digest') ?? '');
          return void res.writeHead(201).end();
        }
        if (req.method === 'PUT' && manifest) {
          this.manifests.set(manifest[2]!, Buffer.concat(chunks));
          return void res.writeHead(201).end();
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get host(): string {
    return `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }
}
