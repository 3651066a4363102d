import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { Server, ServerCredentials, status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { buildkitSecrets, filesync, grpcHealth } from '@archfarm/proto';
import type { DockerHost } from '../docker-host';
import { engineError } from '../docker-errors';
import { SessionRefusedError } from '../errors';
import type { ContextTree } from './context-tree';
import { serveDiffCopy } from './file-sync';

/** Credentials for one registry host, as BuildKit's Auth.Credentials answers them. */
export interface HostLogin {
  username: string;
  password: string;
}

/** What one build's session serves to the engine. */
export interface SessionOptions {
  host: DockerHost;
  tree: ContextTree;
  /** Directory of the tree that holds the Dockerfile ("" for the root). */
  dockerfileDir: string;
  /** Logins by registry host ("reg.example:5000"), for the FROM images the engine pulls. */
  logins: ReadonlyMap<string, HostLogin>;
  /** `RUN --mount=type=secret,id=ID` values; they stay in this process's memory. */
  secrets: ReadonlyMap<string, Buffer>;
  /** BuildKit keeps a copy of a session's files under this key and asks only for what changed. */
  sharedKey: string;
}

/** An open session: pass `id` as the build's `session` parameter; close it when the build ends. */
export interface BuildSession {
  readonly id: string;
  close(): void;
}

/**
 * Opens a BuildKit session on the engine the way the docker CLI does (`POST /session`, upgraded
 * to h2c): the engine then is the gRPC client and this process the server, over that one
 * connection, so it works for a remote engine as well as a local one. The engine reads the
 * context through file sync (the only route that works on the containerd image store:
 * moby/moby#47717 breaks a tar POSTed to /build there), pull credentials through Auth and
 * secrets through Secrets, so a secret is never a build argument and never touches a disk.
 */
export async function openSession(opts: SessionOptions): Promise<BuildSession> {
  const id = randomUUID();
  const server = new Server();
  const services: Array<[ServiceDefinition, UntypedServiceImplementation]> = [
    [filesync.FileSyncService, fileSync(opts)],
    [filesync.AuthService, auth(opts.logins)],
    [buildkitSecrets.SecretsService, secrets(opts.secrets)],
    [grpcHealth.HealthService, health()],
  ];
  const methods: string[] = [];
  for (const [definition, implementation] of services) {
    server.addService(definition, implementation);
    for (const m of Object.keys(implementation)) methods.push((definition as Record<string, { path: string }>)[m]!.path);
  }
  const socket = await dial(opts.host, {
    'X-Docker-Expose-Session-Uuid': id,
    'X-Docker-Expose-Session-Name': 'archfarm-agent',
    'X-Docker-Expose-Session-Sharedkey': opts.sharedKey,
    'X-Docker-Expose-Session-Grpc-Method': methods,
  });
  server.createConnectionInjector(ServerCredentials.createInsecure()).injectConnection(socket);
  return {
    id,
    close() {
      server.forceShutdown();
      socket.destroy();
    },
  };
}

function fileSync(opts: SessionOptions): UntypedServiceImplementation {
  // BuildKit's dockerfile frontend reads these two names (DefaultLocalNameContext, ...Dockerfile).
  const dirs = { context: '', dockerfile: opts.dockerfileDir };
  return { diffCopy: (call: Parameters<typeof serveDiffCopy>[2]) => serveDiffCopy(opts.tree, dirs, call) };
}

type Unary<Req, Res> = (call: { request: Req }, callback: (err: { code: number; details: string } | null, res?: Res) => void) => void;

function auth(logins: ReadonlyMap<string, HostLogin>): UntypedServiceImplementation {
  // Only Credentials: without a token authority, BuildKit fetches tokens itself with these.
  const credentials: Unary<filesync.CredentialsRequest, filesync.CredentialsResponse> = ({ request }, callback) => {
    const login = logins.get(request.Host);
    callback(null, { Username: login?.username ?? '', Secret: login?.password ?? '' });
  };
  return { credentials };
}

function secrets(values: ReadonlyMap<string, Buffer>): UntypedServiceImplementation {
  const getSecret: Unary<buildkitSecrets.GetSecretRequest, buildkitSecrets.GetSecretResponse> = ({ request }, callback) => {
    const data = values.get(request.ID);
    if (data === undefined) callback({ code: status.NOT_FOUND, details: `secret ${request.ID} not found` });
    else callback(null, { data });
  };
  return { getSecret };
}

function health(): UntypedServiceImplementation {
  const check: Unary<grpcHealth.HealthCheckRequest, grpcHealth.HealthCheckResponse> = (_call, callback) =>
    callback(null, { status: grpcHealth.HealthCheckResponse_ServingStatus.SERVING });
  return { check };
}

/** `POST /session` with `Upgrade: h2c`; resolves to the upgraded socket. */
function dial(host: DockerHost, headers: Record<string, string | string[]>): Promise<Socket> {
  const target = host.kind === 'unix' ? { socketPath: host.socketPath } : { host: host.host, port: host.port };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method: 'POST', path: '/session', headers: { ...headers, Connection: 'Upgrade', Upgrade: 'h2c' } });
    req.setTimeout(30_000, () => req.destroy(new Error('the engine did not answer POST /session within 30 s')));
    req.on('upgrade', (_res, socket, head) => {
      req.setTimeout(0);
      if (head.length > 0) socket.unshift(head);
      resolve(socket as Socket);
    });
    req.on('response', (res) => {
      res.resume();
      reject(new SessionRefusedError(`the engine answered POST /session with HTTP ${res.statusCode ?? '?'}; it needs BuildKit sessions (dockerd 18.09 or newer)`, res.statusCode ?? 0));
    });
    req.on('error', (err) => reject(engineError(err, 'open a BuildKit session')));
    req.end();
  });
}
