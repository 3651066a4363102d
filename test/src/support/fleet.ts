import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@archfarm/coordinator';
import { BIN, freePort, run, waitForOutput, type RunResult } from './processes';

export interface AgentSpec {
  name: string;
  /** --platform of the agent (narrows what it serves). */
  platforms?: string;
  slots?: number;
  /** --label KEY=VALUE entries. */
  labels?: string[];
  /** --docker-host of the agent (another engine than the host's dockerd), e.g. unix:///run/x.sock. */
  dockerHost?: string;
}

/**
 * A real coordinator and real agents as separate processes, on a loopback port the
 * coordinator picked itself (--listen 127.0.0.1:0), with their state in a temp dir.
 */
export interface FleetOptions {
  /** Extra coordinator flags, e.g. ['--lease-ttl', '4s']. */
  coordinatorArgs?: string[];
  /** A fixed port, so a restarted coordinator is found by the agents at the same address. */
  fixedPort?: boolean;
  /**
   * 'postgres': the coordinator keeps its store in a database made for this fleet on the test
   * cluster (--store URL; dropped by stop()) instead of DATA/archfarm.db.
   */
  store?: 'postgres';
}

export class TestFleet {
  private readonly children: ChildProcess[] = [];
  private readonly agents = new Map<string, ChildProcess>();
  private coordinator: ChildProcess | undefined;
  readonly logs: string[] = [];
  address = '';
  /** The admin token the coordinator printed when it initialised its data dir. */
  adminToken = '';
  caFingerprint = '';
  /** With options.store 'postgres': the fleet's database (its URL is the coordinator's --store; dropped by stop()). */
  database: TestDatabase | undefined;
  private joinToken = '';

  private constructor(
    readonly dir: string,
    private readonly options: FleetOptions,
  ) {}

  static async start(agents: AgentSpec[], options: FleetOptions = {}): Promise<TestFleet> {
    const fleet = new TestFleet(await mkdtemp(join(tmpdir(), 'archfarm-e2e-')), options);
    if (options.store === 'postgres') fleet.database = await createTestDatabase('archfarm_e2e');
    try {
      await fleet.startCoordinator(options.fixedPort ? await freePort() : 0);
      fleet.joinToken = await fleet.createJoinToken(100);
      await Promise.all(agents.map((a) => fleet.startAgent(a)));
      await fleet.waitForAgents(agents.map((a) => a.name));
    } catch (err) {
      // The caller never gets the fleet to stop: its database must not outlive the failure.
      if (fleet.database) await fleet.stop();
      throw err;
    }
    return fleet;
  }

  agentStateDir(name: string): string {
    return join(this.dir, name);
  }

  /** Sends `signal` to an agent's process and waits for it to exit. */
  async killAgent(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await kill(this.agents.get(name), signal);
  }

  /** kill -9 the coordinator (no shutdown of any kind). */
  async killCoordinator(): Promise<void> {
    await kill(this.coordinator, 'SIGKILL');
  }

  /** Starts the coordinator again on the same data dir and port. */
  async restartCoordinator(): Promise<void> {
    await this.startCoordinator(Number(this.address.split(':').pop()));
  }

  /** Coordinator log lines (JSON) whose msg is `msg`. */
  coordinatorLines(msg: string): Array<Record<string, unknown>> {
    const text = this.logs
      .filter((l) => l.startsWith('[coordinator] '))
      .map((l) => l.slice('[coordinator] '.length))
      .join('');
    return text
      .split('\n')
      .flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          return parsed.msg === msg ? [parsed] : [];
        } catch {
          return [];
        }
      });
  }

  /** The coordinator's process id (benchmarks sample its memory and CPU). */
  get coordinatorPid(): number | undefined {
    return this.coordinator?.pid;
  }

  get dataDir(): string {
    return join(this.dir, 'coordinator');
  }

  get caFile(): string {
    return join(this.dataDir, 'tls', 'ca.crt');
  }

  /** What the CLI needs to reach this coordinator as admin; tests override ARCHFARM_TOKEN for other roles. */
  cliEnv(): NodeJS.ProcessEnv {
    return { ARCHFARM_COORDINATOR: this.address, ARCHFARM_TOKEN: this.adminToken, ARCHFARM_CA_FILE: this.caFile, ARCHFARM_CONFIG: join(this.dir, 'cli-config.json') };
  }

  /** Runs the `archfarm` CLI against this fleet's coordinator. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<RunResult> {
    return run(process.execPath, [BIN.cli, ...args], { env: { ...this.cliEnv(), ...env }, input });
  }

  /** Starts the CLI without waiting for it (for Ctrl-C tests). */
  spawnCli(args: string[]): ChildProcess {
    return spawn(process.execPath, [BIN.cli, ...args], { env: { ...process.env, ...this.cliEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A join token for agents (`archfarm tokens create`). */
  async createJoinToken(uses: number, extra: string[] = []): Promise<string> {
    const res = await this.cli(['tokens', 'create', '--uses', String(uses), '--ttl', '1h', ...extra]);
    if (res.code !== 0) throw new Error(`tokens create failed (${res.code}): ${res.stderr}`);
    return res.stdout.trim();
  }

  /** Starts one more agent (after start()). */
  async addAgent(spec: AgentSpec, extraArgs: string[] = []): Promise<ChildProcess> {
    return this.startAgent(spec, extraArgs);
  }

  async stop(): Promise<void> {
    for (const child of this.children) child.kill('SIGTERM');
    await Promise.all(this.children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await rm(this.dir, { recursive: true, force: true });
    await this.database?.drop();
  }

  private spawnLogged(name: string, args: string[]): ChildProcess {
    const child = spawn(process.execPath, args, { env: { ...process.env, ARCHFARM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => this.logs.push(`[${name}] ${d.toString()}`));
    if (process.env.ARCHFARM_TEST_VERBOSE) child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${name}] ${d.toString()}`));
    this.children.push(child);
    return child;
  }

  private async startCoordinator(port: number): Promise<void> {
    const args = [BIN.coordinator, '--listen', `127.0.0.1:${port}`, '--data-dir', this.dataDir, '--heartbeat-interval', '1s', ...(this.database ? ['--store', this.database.url] : []), ...(this.options.coordinatorArgs ?? [])];
    const child = this.spawnLogged('coordinator', args);
    this.coordinator = child;
    const text = await waitForOutput(child, 'stderr', (t) => t.includes('coordinator serving'), 30_000);
    const line = text.split('\n').find((l) => l.includes('coordinator serving'))!;
    this.address = (JSON.parse(line) as { listen: string }).listen;
    // The first start writes DATA/admin-token (0600); the log only says where.
    this.adminToken = (await readFile(join(this.dataDir, 'admin-token'), 'utf8').catch(() => this.adminToken)).trim();
    const tlsLine = text.split('\n').find((l) => l.includes('caFingerprint'));
    if (tlsLine) this.caFingerprint = (JSON.parse(tlsLine) as { caFingerprint: string }).caFingerprint;
  }

  private async startAgent(spec: AgentSpec, extraArgs: string[] = []): Promise<ChildProcess> {
    const args = [BIN.agent, '--coordinator', this.address, '--name', spec.name, '--state-dir', join(this.dir, spec.name), '--join-token', this.joinToken, '--ca-fingerprint', this.caFingerprint, ...extraArgs];
    if (spec.platforms) args.push('--platform', spec.platforms);
    if (spec.slots) args.push('--slots', String(spec.slots));
    for (const label of spec.labels ?? []) args.push('--label', label);
    if (spec.dockerHost) args.push('--docker-host', spec.dockerHost);
    const child = this.spawnLogged(spec.name, args);
    this.agents.set(spec.name, child);
    return child;
  }

  /** Polls `archfarm agents` until every named agent is connected (probing takes a few seconds). */
  async waitForAgents(names: string[], timeoutMs = 120_000): Promise<Array<{ name: string; platforms: Array<{ platform: string; mode: string }> }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await this.cli(['agents', '--output', 'json']);
      const agents = res.code === 0 ? (JSON.parse(res.stdout) as Array<{ name: string; platforms: Array<{ platform: string; mode: string }> }>) : [];
      if (names.every((n) => agents.some((a) => a.name === n))) return agents;
      if (Date.now() > deadline) throw new Error(`agents ${names.join(', ')} did not connect in ${timeoutMs} ms; logs:\n${this.logs.join('').slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
