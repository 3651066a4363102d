import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OpsHttpServer, PRUNE_INTERVAL_MS, Platform, errorMessage, type Logger } from '@archfarm/common';
import { AgentPruner } from './prune';
import { modeFromWire, modeToWire, type Assign, type Cancel, type Hello, type JobFinished, type RunningJob, type Welcome } from '@archfarm/proto';
import { credentials } from '@grpc/grpc-js';
import { Connection } from './connection';
import { channelCredentials, ensureEnrolled, type AgentIdentity } from './enrolment';
import { renewIdentity } from './renewal';
import { ContextCache } from './context-cache';
import { probePlatforms, type Engine, type EngineInfo, type ProbedPlatform } from './engine';
import { AttemptDroppedError, NothingToServeError } from './errors';
import { AGENT_LABEL, localRepository, runJob } from './job-runner';
import type { CompiledAgentOptions } from './options';
import { ARCHFARM_VERSION, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentMetrics } from './metrics';

/** Platforms an agent tries by default; operators narrow them with --platform. */
export const DEFAULT_CANDIDATES = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/s390x', 'linux/ppc64le', 'linux/riscv64', 'linux/386'];

type State = 'starting' | 'running' | 'stopping' | 'stopped';

/** How often the watchdog looks at leases and at its own clock. */
const WATCHDOG_MS = 1000;

/** What an Agent can be given besides its options, engine and logger (tests set them). */
export interface AgentDeps {
  /** Wall-clock time in ms: it goes on while the process is stopped or the machine sleeps. */
  clock?: () => number;
}

interface HeldJob {
  attempt: number;
  leaseId: number;
  abort: AbortController;
  done: Promise<void>;
  finished?: JobFinished;
  contextDigest: string;
}

/**
 * The agent daemon: probes what its engine can build, keeps one outbound stream to the
 * coordinator, and runs assigned jobs up to its slots.
 */
export class Agent {
  private state: State = 'starting';
  /** Jobs held: running, or finished with a result the coordinator has not received yet. */
  private readonly running = new Map<string, HeldJob>();
  private leaseTtlMs = 30_000;
  private watchdog: NodeJS.Timeout | undefined;
  private reprobe: NodeJS.Timeout | undefined;
  private renewal: NodeJS.Timeout | undefined;
  private pruning: NodeJS.Timeout | undefined;
  private connection: Connection | undefined;
  private served: ProbedPlatform[] = [];
  private engineDescription = '';
  /** The engine's product, version, CPU and kernel, for the Hello (provenance). */
  private engineFacts: EngineInfo['facts'];
  private readonly clock: () => number;
  /** When the watchdog last ran, by `clock`. */
  private lastTick = 0;
  /** --http-listen: /metrics, /healthz, /readyz (ready while connected to the coordinator). */
  private ops: OpsHttpServer | undefined;
  readonly metrics: AgentMetrics;

  constructor(
    private readonly options: CompiledAgentOptions,
    private readonly engine: Engine,
    private readonly logger: Logger,
    deps: AgentDeps = {},
  ) {
    this.clock = deps.clock ?? Date.now;
    this.metrics = new AgentMetrics({ slotsInUse: () => this.busy(), slots: options.slots, connected: () => this.connection?.connected ?? false });
  }

  /** The port --http-listen bound (0 picked one); undefined without it. */
  get httpPort(): number | undefined {
    return this.ops?.port;
  }

  async start(): Promise<void> {
    // First: a probe sees the process alive, and not ready, while the engine is probed.
    const listen = this.options.httpListen;
    if (listen) {
      const ready = () => this.state === 'running' && (this.connection?.connected ?? false);
      this.ops = await OpsHttpServer.listen(listen.hostname, listen.port ?? 0, { metrics: () => this.metrics.expose(), ready }, this.logger);
      this.logger.info({ httpListen: `${listen.host}:${this.ops.port}` }, 'metrics and health endpoints listening');
    }
    try {
      await this.startWork();
    } catch (err) {
      await this.ops?.close();
      throw err;
    }
  }

  private async startWork(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true });
    await rm(join(this.options.stateDir, 'work'), { recursive: true, force: true });
    const info = await this.engine.info();
    this.engineDescription = info.description;
    this.engineFacts = info.facts;
    const leftovers = await this.engine.removeLeftovers(`${AGENT_LABEL}=${this.options.name}`, `${localRepository(this.options.name)}/`);
    if (leftovers > 0) this.logger.info({ images: leftovers }, 'removed leftovers of earlier runs');
    this.served = await this.probe();
    this.logger.info({ engine: info.description, platforms: this.served.map((p) => `${p.platform} ${p.mode}`) }, 'engine probed');
    const identity = this.options.insecure ? undefined : await ensureEnrolled({ ...this.options }, this.logger);
    this.connection = new Connection(
      this.options.coordinator,
      identity ? channelCredentials(identity) : credentials.createInsecure(),
      {
        hello: () => this.hello(),
        held: () => this.heldAttempts(),
        onWelcome: (welcome) => this.onWelcome(welcome),
        onAssign: (assign) => this.onAssign(assign),
        onCancel: (cancel) => this.onCancel(cancel),
      },
      this.logger,
    );
    this.connection.start();
    if (identity) this.scheduleRenewal(identity);
    this.lastTick = this.clock();
    this.watchdog = setInterval(() => this.checkLeases(), WATCHDOG_MS);
    this.reprobe = setInterval(() => void this.refreshCapabilities(), this.options.probeIntervalMs);
    this.reprobe.unref();
    this.pruning = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruning.unref();
    void this.prune();
    this.state = 'running';
  }

  /** Stops taking work, cancels running jobs, waits for them up to `graceMs`, closes the stream. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    for (const job of this.running.values()) job.abort.abort(new Error('the agent is stopping'));
    const all = Promise.all([...this.running.values()].map((j) => j.done));
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    clearInterval(this.watchdog);
    clearInterval(this.reprobe);
    clearTimeout(this.renewal);
    clearInterval(this.pruning);
    this.connection?.stop();
    await this.ops?.close();
    this.state = 'stopped';
  }

  private async probe(): Promise<ProbedPlatform[]> {
    const wanted = this.options.platforms;
    const candidates = (wanted ?? DEFAULT_CANDIDATES.map((p) => Platform.parse(p)));
    const found = await probePlatforms(this.engine, candidates, { logger: this.logger, repository: `${localRepository(this.options.name)}/probe` });
    const served = wanted ? found.filter((f) => wanted.some((w) => w.equals(f.platform))) : found;
    for (const w of wanted ?? []) {
      if (!served.some((s) => s.platform.equals(w))) this.logger.warn({ platform: w.toString() }, 'asked to serve a platform this engine cannot build (not native, emulation probe failed)');
    }
    if (served.length === 0) throw new NothingToServeError(`this engine can build none of ${candidates.map(String).join(', ')}; install qemu-user-static for emulation or change --platforms`);
    return served;
  }

  /** Renews the client certificate at two thirds of its life, with a fresh key pair; a failure retries in a minute. */
  private scheduleRenewal(identity: AgentIdentity, delay = Math.max(10_000, ((identity.notAfter.getTime() - Date.now()) * 2) / 3)): void {
    this.renewal = setTimeout(() => {
      renewIdentity(this.connection!, identity, this.options.name, this.options.stateDir)
        .then((renewed) => {
          this.logger.info({ notAfter: renewed.notAfter.toISOString() }, 'certificate renewed');
          this.scheduleRenewal(renewed);
        })
        .catch((err: unknown) => {
          this.logger.warn({ err: errorMessage(err) }, 'certificate renewal failed; retrying in a minute');
          this.scheduleRenewal(identity, 60_000);
        });
    }, Math.min(delay, 2 ** 31 - 1));
    this.renewal.unref();
  }

  /** Probes again; tells the coordinator when what this agent can build has changed. */
  private async refreshCapabilities(): Promise<void> {
    try {
      const served = await this.probe();
      const key = (list: ProbedPlatform[]) => list.map((p) => `${p.platform} ${p.mode}`).join(',');
      if (key(served) === key(this.served)) return;
      this.logger.info({ platforms: served.map((p) => `${p.platform} ${p.mode}`) }, 'capabilities changed');
      this.served = served;
      this.connection?.send({ msg: { $case: 'capabilities', value: { platforms: this.wirePlatforms() } } });
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'probe failed; keeping the last capabilities');
    }
  }

  private wirePlatforms(): Hello['platforms'] {
    return this.served.map((p) => ({ platform: p.platform.toString(), mode: modeToWire(p.mode) }));
  }

  private hello(): Hello {
    return {
      name: this.options.name,
      version: ARCHFARM_VERSION,
      protocol: PROTOCOL_VERSION,
      nodeVersion: process.version,
      platforms: this.wirePlatforms(),
      slots: this.options.slots,
      engine: this.engineDescription,
      engineName: this.engineFacts?.name ?? '',
      engineVersion: this.engineFacts?.version ?? '',
      cpu: this.engineFacts?.cpu ?? '',
      kernel: this.engineFacts?.kernel ?? '',
      // The CPU Node.js itself runs on, so an operator sees a Pi's agent is really on arm.
      labels: { 'node-arch': process.arch, ...this.options.labels },
      running: this.heldAttempts(),
    };
  }

  private heldAttempts(): RunningJob[] {
    return [...this.running.entries()].map(([jobId, j]) => ({ jobId, attempt: j.attempt, leaseId: j.leaseId }));
  }

  /**
   * After a (re)connect: resumed jobs go on (and report a result they finished meanwhile).
   * Every other held attempt stops: the Hello listed all of them, so one the Welcome does not
   * resume is no longer this agent's.
   */
  private onWelcome(welcome: Welcome): void {
    if (welcome.leaseTtlMs > 0) this.leaseTtlMs = welcome.leaseTtlMs;
    for (const [jobId, job] of [...this.running.entries()]) {
      const decision = welcome.resume.find((d) => d.jobId === jobId && d.attempt === job.attempt);
      if (!decision?.resume) this.drop(jobId, job.attempt, 'the coordinator did not resume the attempt after the reconnect');
      else if (job.finished) this.report(jobId);
    }
  }

  /**
   * Once a second. An agent that cannot reach the coordinator for a whole lease TTL stops its
   * jobs by itself: by then the coordinator has handed them to another agent. So does one
   * whose own clock jumped by more than a lease TTL between two ticks: the process was stopped
   * (SIGSTOP, a suspended laptop, a VM paused) and kept its connection, but the coordinator
   * has moved its attempts meanwhile.
   */
  private checkLeases(): void {
    const now = this.clock();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (gap > this.leaseTtlMs) {
      if (this.running.size > 0) this.logger.warn({ frozenForMs: gap, leaseTtlMs: this.leaseTtlMs }, 'the agent was stopped for longer than its lease; dropping every attempt it held');
      for (const [jobId, job] of [...this.running.entries()]) this.drop(jobId, job.attempt, `the agent was stopped for ${Math.round(gap / 1000)} s, longer than its lease`);
      return;
    }
    if (!this.connection || this.connection.downFor() <= this.leaseTtlMs) return;
    for (const [jobId, job] of [...this.running.entries()]) this.drop(jobId, job.attempt, 'the lease ran out while the coordinator was unreachable');
  }

  /**
   * Stops an attempt that is no longer this agent's: its engine work is aborted, its pending
   * log uploads are dropped, and its slot is free at once; its result is never reported.
   */
  private drop(jobId: string, attempt: number, why: string): void {
    const job = this.running.get(jobId);
    if (!job || job.attempt !== attempt) return;
    this.logger.warn({ jobId, attempt, why }, 'dropping the attempt');
    this.running.delete(jobId);
    job.abort.abort(new AttemptDroppedError(jobId, attempt, why));
  }

  /** Sends a finished job's result if connected; otherwise it waits for the next Welcome. */
  private report(jobId: string): void {
    const job = this.running.get(jobId);
    if (!job?.finished) return;
    if (this.connection?.send({ msg: { $case: 'finished', value: job.finished } })) this.running.delete(jobId);
  }

  private onAssign(assign: Assign): void {
    const send = this.connection!.send.bind(this.connection);
    const { jobId, attempt } = assign;
    if (this.state !== 'running' || this.busy() >= this.options.slots || !assign.spec) {
      send({ msg: { $case: 'rejected', value: { jobId, attempt, reason: this.state !== 'running' ? 'agent is stopping' : 'no free slot' } } });
      return;
    }
    const abort = new AbortController();
    const deps = { agentName: this.options.name, engine: this.engine, contexts: this.contexts(), client: () => this.connection!.client, stateDir: this.options.stateDir, logger: this.logger };
    const held: HeldJob = { attempt, leaseId: assign.leaseId, abort, done: Promise.resolve(), contextDigest: assign.spec.contextDigest };
    const events = {
      started: () => void send({ msg: { $case: 'started', value: { jobId, attempt } } }),
      stale: () => this.drop(jobId, attempt, 'the coordinator refused its log as a stale attempt'),
    };
    const began = this.clock();
    const ended = (outcome: 'succeeded' | 'failed' | 'dropped') => this.metrics.jobEnded(outcome, assign.spec!.platform, modeFromWire(assign.mode), this.clock() - began);
    held.done = runJob(deps, assign, abort.signal, events).then((finished) => {
      if (this.running.get(jobId) !== held) return ended('dropped'); // dropped meanwhile: never reported
      ended(finished.error ? 'failed' : 'succeeded');
      held.finished = finished;
      this.report(jobId);
    });
    this.running.set(jobId, held);
  }

  private onCancel(cancel: Cancel): void {
    this.drop(cancel.jobId, cancel.attempt, `cancelled by the coordinator: ${cancel.reason}`);
  }

  /** Jobs still using a slot (a finished job waiting to report holds none). */
  private busy(): number {
    return [...this.running.values()].filter((j) => !j.finished).length;
  }

  /** One pass of the pruner (--retention, --max-disk); what it deleted. Nothing a held attempt uses goes. */
  async prune(): Promise<number> {
    const held = () => {
      const jobs = [...this.running.entries()];
      return { jobIds: new Set(jobs.map(([id]) => id)), attempts: new Set(jobs.map(([id, j]) => `${id}.${j.attempt}`)), contexts: new Set(jobs.map(([, j]) => j.contextDigest)) };
    };
    const pruner = new AgentPruner({ stateDir: this.options.stateDir, imagePrefix: `${localRepository(this.options.name)}/`, engine: this.engine, contexts: this.contexts(), held, limits: this.options.retention, logger: this.logger, clock: this.clock });
    return (await pruner.prune().catch((err: unknown) => (this.logger.warn({ err: errorMessage(err) }, 'pruning failed'), []))).length;
  }

  private cache: ContextCache | undefined;
  private contexts(): ContextCache {
    return (this.cache ??= new ContextCache(join(this.options.stateDir, 'contexts'), () => this.connection!.client));
  }
}
