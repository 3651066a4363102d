import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { BuildServiceClient, modeFromWire } from '@archfarm/proto';
import { BIN, run, waitForOutput, type RunResult } from './processes';

export interface AgentSpec {
  name: string;
  /** --platform of the agent (narrows what it serves). */
  platforms?: string;
  slots?: number;
}

/**
 * A real coordinator and real agents as separate processes, on a loopback port the
 * coordinator picked itself (--listen 127.0.0.1:0), with their state in a temp dir.
 */
export class TestFleet {
  private readonly children: ChildProcess[] = [];
  readonly logs: string[] = [];
  address = '';

  private constructor(readonly dir: string) {}

  static async start(agents: AgentSpec[]): Promise<TestFleet> {
    const fleet = new TestFleet(await mkdtemp(join(tmpdir(), 'archfarm-e2e-')));
    await fleet.startCoordinator();
    await Promise.all(agents.map((a) => fleet.startAgent(a)));
    await fleet.waitForAgents(agents.map((a) => a.name));
    return fleet;
  }

  get dataDir(): string {
    return join(this.dir, 'coordinator');
  }

  /** Runs the `archfarm` CLI against this fleet's coordinator. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return run(process.execPath, [BIN.cli, ...args], { env: { ARCHFARM_COORDINATOR: this.address, ...env } });
  }

  /** Starts the CLI without waiting for it (for Ctrl-C tests). */
  spawnCli(args: string[]): ChildProcess {
    return spawn(process.execPath, [BIN.cli, ...args], { env: { ...process.env, ARCHFARM_COORDINATOR: this.address }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async stop(): Promise<void> {
    for (const child of this.children) child.kill('SIGTERM');
    await Promise.all(this.children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private spawnLogged(name: string, args: string[]): ChildProcess {
    const child = spawn(process.execPath, args, { env: { ...process.env, ARCHFARM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => this.logs.push(`[${name}] ${d.toString()}`));
    this.children.push(child);
    return child;
  }

  private async startCoordinator(): Promise<void> {
    const child = this.spawnLogged('coordinator', [BIN.coordinator, '--listen', '127.0.0.1:0', '--data-dir', this.dataDir, '--heartbeat-interval', '1000']);
    const text = await waitForOutput(child, 'stderr', (t) => t.includes('coordinator serving'), 20_000);
    const line = text.split('\n').find((l) => l.includes('coordinator serving'))!;
    this.address = (JSON.parse(line) as { listen: string }).listen;
  }

  private async startAgent(spec: AgentSpec): Promise<void> {
    const args = [BIN.agent, '--coordinator', this.address, '--name', spec.name, '--state-dir', join(this.dir, spec.name)];
    if (spec.platforms) args.push('--platform', spec.platforms);
    if (spec.slots) args.push('--slots', String(spec.slots));
    this.spawnLogged(spec.name, args);
  }

  /** Polls ListAgents until every named agent is connected (probing takes a few seconds). */
  async waitForAgents(names: string[], timeoutMs = 120_000): Promise<Array<{ name: string; platforms: Array<{ platform: string; mode: string }> }>> {
    const client = new BuildServiceClient(this.address, credentials.createInsecure());
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const agents = await new Promise<Array<{ name: string; platforms: Array<{ platform: string; mode: string }> }>>((resolve, reject) =>
          client.listAgents({}, (err, res) =>
            err ? reject(err) : resolve(res.agents.map((a) => ({ name: a.name, platforms: a.platforms.map((p) => ({ platform: p.platform, mode: modeFromWire(p.mode) })) }))),
          ),
        ).catch(() => []);
        if (names.every((n) => agents.some((a) => a.name === n))) return agents;
        if (Date.now() > deadline) throw new Error(`agents ${names.join(', ')} did not connect in ${timeoutMs} ms; logs:\n${this.logs.join('').slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      client.close();
    }
  }
}
