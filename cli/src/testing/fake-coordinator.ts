import { createHash } from 'node:crypto';
import { Server, ServerCredentials, status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import {
  BuildState,
  AuthServiceService,
  BuildMode,
  BuildServiceService,
  ScheduleServiceService,
  type AgentInfo,
  type AgentRequest,
  type BuildDetails,
  type BuildEvent,
  type BuildServiceServer,
  type JobLog,
  type ListAgentsRequest,
  type ListBuildsRequest,
  type PlannedJob,
  type StreamLogsRequest,
  type SubmitBuildRequest,
  type UploadContextRequest,
  type WatchBuildRequest,
} from '@archfarm/proto';
import type { Connection } from '../client';
import { FakeAuth, guarded } from './fake-auth';
import { FakeSchedules } from './fake-schedules';
import { TEST_TLS, TEST_TOKEN, type TlsFixture } from './tls';

/** What the fake saw of one upload. */
export interface ReceivedUpload {
  header: { digest: string; size: number } | undefined;
  chunkSizes: number[];
  sha256: string;
}

/** How the fake answers WatchBuild: events to send, then end the stream (or leave it open). */
export type WatchScript = (call: ServerWritableStream<WatchBuildRequest, BuildEvent>, fake: FakeCoordinator) => void;

/** How the fake answers StreamLogs for a known build: chunks to send, then end (or not). */
export type LogsScript = (call: ServerWritableStream<StreamLogsRequest, JobLog>, fake: FakeCoordinator) => void;

/**
 * A real gRPC server on 127.0.0.1, port 0, speaking BuildService, AuthService and ScheduleService
 * just enough for the CLI's unit tests: it stores contexts by the sha256 of the bytes it really received.
 * It serves TLS with TEST_TLS (chain: server certificate, then CA) unless started with
 * 'insecure', and checks every call's token (see {@link FakeAuth}).
 */
export class FakeCoordinator {
  readonly contexts = new Map<string, Buffer>();
  readonly uploads: ReceivedUpload[] = [];
  readonly submitted: SubmitBuildRequest[] = [];
  readonly cancelled: string[] = [];
  /** ListAgents answers the connected ones, or all with `all`; drain/resume change them. */
  agents: AgentInfo[] = [];
  readonly agentRequests: ListAgentsRequest[] = [];
  /** DrainAgent and ResumeAgent calls, as "drain pi-1", "resume pi-1". */
  readonly fleetCalls: string[] = [];
  /** PlanBuild requests; each is answered by `plan` once its context was uploaded. */
  readonly planned: SubmitBuildRequest[] = [];
  plan: (req: SubmitBuildRequest) => PlannedJob[] = (req) =>
    req.platforms.map((platform) => ({ platform, agent: '', mode: BuildMode.BUILD_MODE_UNSPECIFIED, reason: 'no agent serves it' }));
  /** Stops reading an upload this long after its first message, to push back on the client. */
  uploadStallMs = 0;
  /** Thrown from SubmitBuild when set. */
  submitError: Partial<ServiceError> | undefined;
  watch: WatchScript = (call) => call.end();
  /** Every WatchBuild call, in order (its request says whether it re-attached); CancelBuild can finish open ones. */
  readonly watchers: ServerWritableStream<WatchBuildRequest, BuildEvent>[] = [];
  onCancel: (buildId: string, fake: FakeCoordinator) => void = () => {};
  /** What CancelBuild answers the build's state is. */
  cancelAnswer: BuildState = BuildState.BUILD_STATE_CANCELLED;
  /** What InspectBuild and ListBuilds know, in ListBuilds' order; other ids are NOT_FOUND. */
  readonly builds = new Map<string, BuildDetails>();
  readonly listLimits: number[] = [];
  /** Every ListBuilds request; one with `schedule` answers only that schedule's builds. */
  readonly listRequests: ListBuildsRequest[] = [];
  readonly logRequests: StreamLogsRequest[] = [];
  logs: LogsScript = (call) => call.end();
  readonly auth = new FakeAuth();
  /** ScheduleService: schedules kept by name; a context must have been uploaded to be scheduled. */
  readonly schedules = new FakeSchedules((digest) => this.contexts.has(digest));
  private server = new Server();
  address = '';
  /** The CA its certificate chains to; undefined when it speaks plain text. */
  caPem: string | undefined;

  /** `port`: a fixed one, to stand in for a coordinator restarted at the same address. */
  static async start(tls: TlsFixture | 'insecure' = TEST_TLS, port = 0): Promise<FakeCoordinator> {
    const fake = new FakeCoordinator();
    fake.server.addService(BuildServiceService, guarded(fake.service(), fake.auth));
    fake.server.addService(AuthServiceService, guarded(fake.auth.service(), fake.auth));
    fake.server.addService(ScheduleServiceService, guarded(fake.schedules.service(), fake.auth));
    const credentials =
      tls === 'insecure'
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem + tls.caPem) }], false);
    const bound = await new Promise<number>((resolve, reject) => {
      fake.server.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
    });
    fake.address = `127.0.0.1:${bound}`;
    fake.caPem = tls === 'insecure' ? undefined : tls.caPem;
    return fake;
  }

  /** How a client trusting its CA connects with `token`. */
  connection(token = TEST_TOKEN): Connection {
    return { address: this.address, caPem: this.caPem, token };
  }

  stop(): void {
    this.server.forceShutdown();
  }

  /** Builds it was told about, and those submitted to it (b1, b2, ...). */
  private knows(buildId: string): boolean {
    const n = /^b(\d+)$/.exec(buildId)?.[1];
    return this.builds.has(buildId) || (n !== undefined && Number(n) >= 1 && Number(n) <= this.submitted.length);
  }

  private setDrained(req: AgentRequest, drained: boolean, callback: (err: Partial<ServiceError> | null, res?: AgentInfo) => void): void {
    this.fleetCalls.push(`${drained ? 'drain' : 'resume'} ${req.name}`);
    const i = this.agents.findIndex((a) => a.name === req.name);
    const agent = this.agents[i];
    if (!agent) return callback(notFound(`agent ${req.name}`));
    this.agents[i] = { ...agent, drained };
    callback(null, this.agents[i]);
  }

  private service(): BuildServiceServer {
    return {
      uploadContext: (call, callback) => {
        const upload: ReceivedUpload = { header: undefined, chunkSizes: [], sha256: '' };
        const hash = createHash('sha256');
        const parts: Buffer[] = [];
        call.on('data', (req: UploadContextRequest) => {
          if (req.msg?.$case === 'header') {
            upload.header = req.msg.value;
            if (this.uploadStallMs > 0) {
              call.pause();
              setTimeout(() => call.resume(), this.uploadStallMs);
            }
          }
          if (req.msg?.$case === 'data') {
            upload.chunkSizes.push(req.msg.value.length);
            hash.update(req.msg.value);
            parts.push(Buffer.from(req.msg.value));
          }
        });
        call.on('end', () => {
          upload.sha256 = `sha256:${hash.digest('hex')}`;
          this.uploads.push(upload);
          if (upload.header?.digest !== upload.sha256) {
            callback({ code: status.INVALID_ARGUMENT, details: `digest mismatch: got ${upload.sha256}` });
            return;
          }
          this.contexts.set(upload.sha256, Buffer.concat(parts));
          callback(null, { digest: upload.sha256, size: upload.header.size });
        });
      },
      hasContext: (call, callback) => callback(null, { present: this.contexts.has(call.request.digest) }),
      submitBuild: (call, callback) => {
        this.submitted.push(call.request);
        if (this.submitError) callback(this.submitError);
        else callback(null, { buildId: `b${this.submitted.length}` });
      },
      watchBuild: (call) => {
        this.watchers.push(call);
        this.watch(call, this);
      },
      cancelBuild: (call, callback) => {
        const { buildId } = call.request;
        if (!this.knows(buildId)) return callback(notFound(`build ${buildId}`));
        this.cancelled.push(buildId);
        this.onCancel(buildId, this);
        callback(null, { state: this.cancelAnswer });
      },
      listAgents: (call, callback) => {
        this.agentRequests.push(call.request);
        callback(null, { agents: this.agents.filter((a) => call.request.all || a.connected) });
      },
      planBuild: (call, callback) => {
        this.planned.push(call.request);
        if (!this.contexts.has(call.request.contextDigest)) {
          return callback({ code: status.INVALID_ARGUMENT, details: `context ${call.request.contextDigest} was not uploaded` });
        }
        callback(null, { jobs: this.plan(call.request) });
      },
      drainAgent: (call, callback) => this.setDrained(call.request, true, callback),
      resumeAgent: (call, callback) => this.setDrained(call.request, false, callback),
      inspectBuild: (call, callback) => {
        const build = this.builds.get(call.request.buildId);
        if (build) callback(null, build);
        else callback(notFound(`build ${call.request.buildId}`));
      },
      listBuilds: (call, callback) => {
        this.listLimits.push(call.request.limit);
        this.listRequests.push(call.request);
        const { schedule } = call.request;
        const builds = [...this.builds.values()].filter((b) => schedule === '' || b.schedule === schedule);
        callback(null, { builds: builds.slice(0, call.request.limit || undefined) });
      },
      streamLogs: (call) => {
        this.logRequests.push(call.request);
        if (this.knows(call.request.buildId)) this.logs(call, this);
        else call.emit('error', notFound(`build ${call.request.buildId}`));
      },
    };
  }
}

function notFound(what: string): Partial<ServiceError> {
  return { code: status.NOT_FOUND, details: `${what} not found` };
}
