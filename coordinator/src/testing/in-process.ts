import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import pino from 'pino';
import { create as createTar } from 'tar';
import { PROTOCOL_VERSION, REDACT_PATHS, type Logger } from '@archfarm/common';
import { AgentServiceClient, BuildMode, BuildServiceClient, type AgentMessage, type Assign, type Cancel, type CoordinatorMessage, type SubmitBuildRequest } from '@archfarm/proto';
import { Coordinator } from '../coordinator';
import type { CoordinatorOptions } from '../options';

/*
 * A coordinator in this process on 127.0.0.1 port 0 (--insecure), with real gRPC clients:
 * an operator's BuildService client and a scripted agent on the Connect stream.
 */

/** The coordinator's log lines, as written (after redaction). */
export function capturingLogger(lines: string[]): Logger {
  return pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (line: string) => void lines.push(line) });
}

export async function startCoordinator(dataDir: string, logger: Logger, options: CoordinatorOptions = {}): Promise<{ coordinator: Coordinator; builds: BuildServiceClient }> {
  const coordinator = await Coordinator.start({ listen: '127.0.0.1:0', dataDir, insecure: true, heartbeatIntervalMs: 1000, leaseTtlMs: 60_000, nativeWaitMs: 60_000, ...options }, logger);
  return { coordinator, builds: new BuildServiceClient(`127.0.0.1:${coordinator.port}`, credentials.createInsecure()) };
}

/** A unary call as a promise. */
export function call<Req, Res>(fn: (req: Req, cb: (err: Error | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res!))));
}

/** Uploads a context holding one Dockerfile; returns its digest. */
export async function uploadDockerfile(client: BuildServiceClient, dockerfile: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'archfarm-ctx-'));
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const file = join(dir, '..', `${dir.split('/').pop()}.tar`);
  createTar({ cwd: dir, sync: true, file, portable: true }, ['Dockerfile']);
  const bytes = readFileSync(file);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await new Promise<void>((resolve, reject) => {
    const stream = client.uploadContext((err) => (err ? reject(err) : resolve()));
    stream.write({ msg: { $case: 'header', value: { digest, size: bytes.length } } });
    stream.write({ msg: { $case: 'data', value: bytes } });
    stream.end();
  });
  return digest;
}

export function submitRequest(contextDigest: string, over: Partial<SubmitBuildRequest>): SubmitBuildRequest {
  return {
    ...{ platforms: ['linux/amd64'], tag: '', contextDigest, dockerfile: 'Dockerfile', buildArgs: {}, target: '', waitTimeoutSeconds: 0, timeoutSeconds: 0, allowPartial: false },
    ...{ smokeCommand: [], emulation: '', requireLabels: {}, registryAuth: undefined, tags: [], labels: {}, annotations: [], pull: false, noCache: false, secrets: [], git: undefined, noProvenance: false, crossCheck: [] },
    ...over,
  };
}

/** An agent on the Connect stream that does what the test tells it. */
export class ScriptedAgent {
  readonly assigns: Assign[] = [];
  readonly cancels: Cancel[] = [];
  private readonly stream: ClientDuplexStream<AgentMessage, CoordinatorMessage>;
  private waiters: Array<() => void> = [];

  /** `running`: attempts this agent says in its Hello it still runs (a reconnect). */
  constructor(port: number, name: string, platforms: string[], slots = 4, running: Assign[] = []) {
    const client = new AgentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    this.stream = client.connect();
    this.stream.on('data', (m: CoordinatorMessage) => {
      if (m.msg?.$case === 'assign') this.assigns.push(m.msg.value);
      if (m.msg?.$case === 'cancel') this.cancels.push(m.msg.value);
      for (const w of this.waiters.splice(0)) w();
    });
    this.stream.on('error', () => {});
    const hello = { name, version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'scripted', labels: {}, slots, running: running.map((a) => ({ jobId: a.jobId, attempt: a.attempt, leaseId: a.leaseId })) };
    this.send({ $case: 'hello', value: { ...hello, platforms: platforms.map((platform) => ({ platform, mode: BuildMode.BUILD_MODE_NATIVE })) } });
  }

  send(msg: NonNullable<AgentMessage['msg']>): void {
    this.stream.write({ msg });
  }

  /** A heartbeat listing these attempts as held. */
  heartbeat(held: Assign[]): void {
    this.send({ $case: 'heartbeat', value: { held: held.map((a) => ({ jobId: a.jobId, attempt: a.attempt, leaseId: a.leaseId })) } });
  }

  /** Waits until `test` holds, re-checking on each message and every 200 ms. */
  async until(what: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Waits until `count` jobs were assigned to this agent. */
  async assigned(count: number, timeoutMs = 10_000): Promise<Assign[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.assigns.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.assigns.length} of ${count} jobs were assigned`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.assigns;
  }

  close(): void {
    this.stream.end();
    this.stream.cancel();
  }
}
