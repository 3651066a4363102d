import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME, createKeyAndCsr, createLogger, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentServiceClient, AuthServiceClient, BuildMode, BuildServiceClient, type CoordinatorMessage, type CreateTokenResponse, type EnrolResponse, type SubmitBuildRequest } from '@archfarm/proto';
import { Coordinator, type CoordinatorOptions } from '@archfarm/coordinator';
import { submitRequest, uploadDockerfile } from './upload';

/** Every coordinator certificate names this host; tests dial 127.0.0.1. */
const OPTIONS = { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME };

/** An enrolled agent's key and certificate. */
export interface AgentKeys {
  keyPem: string;
  certPem: string;
}

/**
 * A coordinator in this process with TLS and tokens (not dev mode), on 127.0.0.1 port 0 with
 * its own data dir, and clients as an admin, a builder or an enrolled agent would make them:
 * for tests of who may do what, with no engine.
 */
export class SecureCoordinator {
  private readonly clients: Array<{ close(): void }> = [];

  private constructor(
    readonly coordinator: Coordinator,
    readonly dataDir: string,
    readonly caPem: Buffer,
    readonly adminToken: string,
  ) {}

  static async start(options: CoordinatorOptions = {}): Promise<SecureCoordinator> {
    const dataDir = await mkdtemp(join(tmpdir(), 'archfarm-secure-'));
    const coordinator = await Coordinator.start({ listen: '127.0.0.1:0', dataDir, heartbeatIntervalMs: 1000, leaseTtlMs: 60_000, ...options }, createLogger('archfarm-coordinator', 'silent'));
    const caPem = await readFile(join(dataDir, 'tls', 'ca.crt'));
    const adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    return new SecureCoordinator(coordinator, dataDir, caPem, adminToken);
  }

  get address(): string {
    return `127.0.0.1:${this.coordinator.port}`;
  }

  /** TLS with an operator token (null: none). */
  operator(token: string | null = this.adminToken): ChannelCredentials {
    const tls = credentials.createSsl(this.caPem);
    if (token === null) return tls;
    const bearer = credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      callback(null, md);
    });
    return credentials.combineChannelCredentials(tls, bearer);
  }

  /** mTLS as an enrolled agent. */
  agent(keys: AgentKeys): ChannelCredentials {
    return credentials.createSsl(this.caPem, Buffer.from(keys.keyPem), Buffer.from(keys.certPem));
  }

  auth(creds: ChannelCredentials = this.operator()): AuthServiceClient {
    return this.keep(new AuthServiceClient(this.address, creds, OPTIONS));
  }

  builds(creds: ChannelCredentials = this.operator()): BuildServiceClient {
    return this.keep(new BuildServiceClient(this.address, creds, OPTIONS));
  }

  async joinToken(uses = 1, labels: Record<string, string> = {}): Promise<string> {
    const auth = this.auth();
    const created = await call<CreateTokenResponse>((cb) => auth.createToken({ kind: 'join', ttlSeconds: 3600, neverExpires: false, uses, labels, description: '' }, cb));
    return created.token;
  }

  /** Enrols `name` with a fresh key; rejects with the coordinator's error. */
  async enrol(name: string, joinToken: string, csrName = name): Promise<AgentKeys> {
    const { keyPem, csrPem } = await createKeyAndCsr(csrName);
    const auth = this.auth(this.operator(null));
    const res = await call<EnrolResponse>((cb) => auth.enrol({ joinToken, name, csrPem }, cb));
    return { keyPem, certPem: res.certificatePem };
  }

  /** Renews the agent's certificate with a fresh key, over its own mTLS. */
  async renew(name: string, keys: AgentKeys): Promise<AgentKeys> {
    const { keyPem, csrPem } = await createKeyAndCsr(name);
    const auth = this.auth(this.agent(keys));
    const res = await call<EnrolResponse>((cb) => auth.renewCertificate({ csrPem }, cb));
    return { keyPem, certPem: res.certificatePem };
  }

  /**
   * Opens Connect as the agent and says Hello; resolves with the live stream once Welcome
   * came, rejects with the refusal.
   */
  async connect(name: string, keys: AgentKeys, labels: Record<string, string> = {}): Promise<AgentStream> {
    const client = this.keep(new AgentServiceClient(this.address, this.agent(keys), OPTIONS));
    const stream = client.connect();
    const live: AgentStream = { ended: false, close: () => stream.cancel() };
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: CoordinatorMessage) => void (m.msg?.$case === 'welcome' && resolve()));
      stream.on('error', (err: ServiceError) => {
        live.ended = true;
        reject(err);
      });
      stream.on('end', () => {
        live.ended = true;
        reject(new Error('stream ended before Welcome'));
      });
      const hello = { name, version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'none', labels, slots: 2, running: [] };
      stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_NATIVE }] } } });
    });
    return live;
  }

  /** Uploads a context of one Dockerfile; its digest. */
  upload(dockerfile: string): Promise<string> {
    return uploadDockerfile(this.builds(), dockerfile);
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.coordinator.stop(1000);
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private keep<T extends { close(): void }>(client: T): T {
    this.clients.push(client);
    return client;
  }
}

export interface AgentStream {
  /** Set once the coordinator ended or refused the stream. */
  ended: boolean;
  close(): void;
}

/** A unary call as a promise: `call<Res>((cb) => client.method(request, cb))`. */
export function call<Res>(fn: (cb: (err: ServiceError | null, res?: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))));
}

/** The gRPC error of a call that must fail. */
export async function refusal(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded but should have been refused');
}

/** A SubmitBuildRequest of one linux/amd64 build to a tag nothing listens on, defaults for the rest. */
export function buildRequest(contextDigest: string, over: Partial<SubmitBuildRequest> = {}): SubmitBuildRequest {
  return submitRequest(contextDigest, { tag: '127.0.0.1:1/hostile/app:1', ...over });
}
