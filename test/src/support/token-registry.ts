import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa } from '@archfarm/common';
import { freePort } from './processes';

/** One request the token server answered: who asked (Basic user, or none) and for what. */
export interface TokenRequest {
  user: string | undefined;
  /** Whether the Basic password was the registry's. */
  passwordOk: boolean;
  scope: string;
  granted: boolean;
  /** archfarm-coordinator or archfarm-agent (their RegistryClients say which). */
  userAgent: string;
}

/** The claims of a token this server issued. */
export interface TokenClaims {
  sub: string;
  aud: string;
  access: Array<{ type: string; name: string; actions: string[] }>;
}

const SERVICE = 'archfarm-test-registry';
const ISSUER = 'archfarm-test-tokens';

/**
 * A real docker-registry (Debian's distribution 2.8) configured for token authentication,
 * on a loopback port and dir of its own, and the small token server it names as its realm,
 * in this process: it checks one user's password (Basic) and issues an ES256 JWT, signed with
 * a key whose self-signed certificate is the registry's rootcertbundle (sent as x5c), granting
 * exactly the scope asked for. Every request is recorded, for tests to check who asked for what.
 */
export class TokenRegistry {
  private child: ChildProcess | undefined;
  private server: Server | undefined;
  readonly requests: TokenRequest[] = [];
  address = '';
  realm = '';

  private constructor(
    private readonly dir: string,
    readonly username: string,
    readonly password: string,
  ) {}

  static async start(username: string, password: string): Promise<TokenRegistry> {
    const registry = new TokenRegistry(await mkdtemp(join(tmpdir(), 'archfarm-tokenreg-')), username, password);
    await registry.launch();
    return registry;
  }

  /** Decodes (without verifying) a JWT this server issued. */
  static claims(token: string): TokenClaims {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as TokenClaims;
  }

  private async launch(): Promise<void> {
    const signer = await createCa('archfarm test token signer');
    await writeFile(join(this.dir, 'token-ca.pem'), signer.certPem);
    const key = createPrivateKey(signer.keyPem);
    const x5c = new X509Certificate(signer.certPem).raw.toString('base64');
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://token');
      const [user, pass] = basicOf(req.headers.authorization);
      const passwordOk = user === this.username && pass === this.password;
      const scope = url.searchParams.get('scope') ?? '';
      this.requests.push({ user, passwordOk, scope, granted: passwordOk, userAgent: req.headers['user-agent'] ?? '' });
      if (url.pathname !== '/token' || !passwordOk) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      const token = jwt(key, x5c, { sub: user!, access: accessOf(scope) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.realm = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
    const port = await freePort();
    this.address = `127.0.0.1:${port}`;
    const config = [
      'version: 0.1',
      'log: { level: warn }',
      'storage:',
      `  filesystem: { rootdirectory: ${join(this.dir, 'data')} }`,
      'http:',
      `  addr: ${this.address}`,
      'auth:',
      '  token:',
      `    realm: ${this.realm}`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${join(this.dir, 'token-ca.pem')}`,
      '',
    ].join('\n');
    await writeFile(join(this.dir, 'config.yml'), config);
    this.child = spawn('docker-registry', ['serve', join(this.dir, 'config.yml')], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await fetch(`http://${this.address}/v2/`).then((r) => r.status, () => 0);
      if (status === 401) return;
      if (Date.now() > deadline) throw new Error(`the token-auth registry on ${this.address} did not come up (last status ${status})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    this.server?.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function basicOf(header: string | undefined): [string | undefined, string | undefined] {
  if (!header?.startsWith('Basic ')) return [undefined, undefined];
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? [text, undefined] : [text.slice(0, colon), text.slice(colon + 1)];
}

/** "repository:a/b:push,pull" (several may be space-separated) -> the access claim granting it. */
function accessOf(scope: string): TokenClaims['access'] {
  return scope
    .split(' ')
    .filter(Boolean)
    .map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      return { type: type ?? '', name: rest.join(':'), actions: actions.split(',').filter(Boolean) };
    });
}

function jwt(key: ReturnType<typeof createPrivateKey>, x5c: string, claims: { sub: string; access: TokenClaims['access'] }): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [x5c] };
  const body = { iss: ISSUER, aud: SERVICE, sub: claims.sub, access: claims.access, iat: now, nbf: now - 10, exp: now + 300, jti: randomBytes(8).toString('hex') };
  const input = `${b64url(header)}.${b64url(body)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
