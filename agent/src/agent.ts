import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Platform, errorMessage, type Logger } from '@archfarm/common';
import { modeToWire, type Assign, type Cancel, type Hello } from '@archfarm/proto';
import { Connection } from './connection';
import { ContextCache } from './context-cache';
import { PROBE_LABEL, probePlatforms, type Engine, type ProbedPlatform } from './engine';
import { NothingToServeError } from './errors';
import { JOB_LABEL, runJob } from './job-runner';
import type { CompiledAgentOptions } from './options';
import { AGENT_VERSION } from './version';

/** Platforms an agent tries by default; operators narrow them with --platform. */
export const DEFAULT_CANDIDATES = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/s390x', 'linux/ppc64le', 'linux/riscv64', 'linux/386'];

type State = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The agent daemon: probes what its engine can build, keeps one outbound stream to the
 * coordinator, and runs assigned jobs up to its slots.
 */
export class Agent {
  private state: State = 'starting';
  private readonly running = new Map<string, { attempt: number; abort: AbortController; done: Promise<void> }>();
  private connection: Connection | undefined;
  private served: ProbedPlatform[] = [];
  private engineDescription = '';

  constructor(
    private readonly options: CompiledAgentOptions,
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true });
    await rm(join(this.options.stateDir, 'work'), { recursive: true, force: true });
    const info = await this.engine.info();
    this.engineDescription = info.description;
    const leftovers = (await this.engine.removeLabelled(JOB_LABEL)) + (await this.engine.removeLabelled(PROBE_LABEL));
    if (leftovers > 0) this.logger.info({ images: leftovers }, 'removed leftovers of earlier runs');
    this.served = await this.probe();
    this.logger.info({ engine: info.description, platforms: this.served.map((p) => `${p.platform} ${p.mode}`) }, 'engine probed');
    this.connection = new Connection(
      this.options.coordinator,
      {
        hello: () => this.hello(),
        freeSlots: () => this.options.slots - this.running.size,
        onAssign: (assign) => this.onAssign(assign),
        onCancel: (cancel) => this.onCancel(cancel),
      },
      this.logger,
    );
    this.connection.start();
    this.state = 'running';
  }

  /** Stops taking work, cancels running jobs, waits for them up to `graceMs`, closes the stream. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    for (const job of this.running.values()) job.abort.abort();
    const all = Promise.all([...this.running.values()].map((j) => j.done));
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    this.connection?.stop();
    this.state = 'stopped';
  }

  private async probe(): Promise<ProbedPlatform[]> {
    const wanted = this.options.platforms;
    const candidates = (wanted ?? DEFAULT_CANDIDATES.map((p) => Platform.parse(p)));
    const found = await probePlatforms(this.engine, candidates, { logger: this.logger });
    const served = wanted ? found.filter((f) => wanted.some((w) => w.equals(f.platform))) : found;
    for (const w of wanted ?? []) {
      if (!served.some((s) => s.platform.equals(w))) this.logger.warn({ platform: w.toString() }, 'asked to serve a platform this engine cannot build (not native, emulation probe failed)');
    }
    if (served.length === 0) throw new NothingToServeError(`this engine can build none of ${candidates.map(String).join(', ')}; install qemu-user-static for emulation or change --platform`);
    return served;
  }

  private hello(): Hello {
    return {
      name: this.options.name,
      version: AGENT_VERSION,
      platforms: this.served.map((p) => ({ platform: p.platform.toString(), mode: modeToWire(p.mode) })),
      slots: this.options.slots,
      engine: this.engineDescription,
      labels: this.options.labels,
    };
  }

  private onAssign(assign: Assign): void {
    const send = this.connection!.send.bind(this.connection);
    const { jobId, attempt } = assign;
    if (this.state !== 'running' || this.running.size >= this.options.slots || !assign.spec) {
      send({ msg: { $case: 'rejected', value: { jobId, attempt, reason: this.state !== 'running' ? 'agent is stopping' : 'no free slot' } } });
      return;
    }
    send({ msg: { $case: 'accepted', value: { jobId, attempt } } });
    const abort = new AbortController();
    const deps = { agentName: this.options.name, engine: this.engine, contexts: this.contexts(), client: this.connection!.client, stateDir: this.options.stateDir, logger: this.logger };
    const done = runJob(deps, assign, abort.signal, () => send({ msg: { $case: 'started', value: { jobId, attempt } } }))
      .then((finished) => send({ msg: { $case: 'finished', value: finished } }))
      .catch((err: unknown) => this.logger.error({ jobId, err: errorMessage(err) }, 'job runner crashed'))
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, { attempt, abort, done });
  }

  private onCancel(cancel: Cancel): void {
    const job = this.running.get(cancel.jobId);
    if (!job || job.attempt !== cancel.attempt) return;
    this.logger.info({ jobId: cancel.jobId, reason: cancel.reason }, 'cancelling job');
    job.abort.abort();
  }

  private cache: ContextCache | undefined;
  private contexts(): ContextCache {
    return (this.cache ??= new ContextCache(join(this.options.stateDir, 'contexts'), this.connection!.client));
  }
}
