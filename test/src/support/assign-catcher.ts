import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { createLogger, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentServiceClient, BuildMode, BuildServiceClient, type Assign, type CoordinatorMessage, type SubmitBuildRequest } from '@archfarm/proto';
import { Coordinator, type CoordinatorOptions } from '@archfarm/coordinator';
import { submitRequest, uploadDockerfile } from './upload';

/**
 * A coordinator in this process (dev mode, loopback, port 0) and an agent stand-in on its
 * Connect stream that only records what it is assigned: for tests of exactly what a job
 * carries (tokens, credentials), with no engine.
 */
export class AssignCatcher {
  readonly assigns: Assign[] = [];
  private constructor(
    readonly coordinator: Coordinator,
    private readonly dataDir: string,
    readonly builds: BuildServiceClient,
    private readonly agent: AgentServiceClient,
    private readonly stream: ReturnType<AgentServiceClient['connect']>,
  ) {}

  static async start(options: CoordinatorOptions): Promise<AssignCatcher> {
    const dataDir = await mkdtemp(join(tmpdir(), 'archfarm-assign-'));
    const coordinator = await Coordinator.start({ listen: '127.0.0.1:0', dataDir, insecure: true, heartbeatIntervalMs: 1000, leaseTtlMs: 60_000, ...options }, createLogger('archfarm-coordinator', 'silent'));
    const address = `127.0.0.1:${coordinator.port}`;
    const agent = new AgentServiceClient(address, credentials.createInsecure());
    const stream = agent.connect();
    const catcher = new AssignCatcher(coordinator, dataDir, new BuildServiceClient(address, credentials.createInsecure()), agent, stream);
    stream.on('data', (m: CoordinatorMessage) => void (m.msg?.$case === 'assign' && catcher.assigns.push(m.msg.value)));
    stream.on('error', () => undefined);
    const hello = { name: 'catcher', version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'none', labels: {}, slots: 8, running: [] };
    stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_NATIVE }] } } });
    return catcher;
  }

  /** Uploads a context of one Dockerfile and submits a linux/amd64 build of it; waits for its Assign. */
  async submit(tag: string, dockerfile: string, over: Partial<SubmitBuildRequest> = {}): Promise<Assign> {
    const contextDigest = await uploadDockerfile(this.builds, dockerfile);
    const before = this.assigns.length;
    const request = submitRequest(contextDigest, { tag, ...over });
    await new Promise((resolve, reject) => this.builds.submitBuild(request, (err, res) => (err ? reject(err) : resolve(res))));
    const deadline = Date.now() + 15_000;
    while (this.assigns.length === before) {
      if (Date.now() > deadline) throw new Error('no Assign within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.assigns[before]!;
  }

  async stop(): Promise<void> {
    this.stream.cancel();
    this.agent.close();
    this.builds.close();
    await this.coordinator.stop(1000);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
