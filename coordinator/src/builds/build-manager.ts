import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type ArchfarmError, errorMessage, type Logger } from '@archfarm/common';
import { modeToWire, toErrorInfo, type BuildEvent, type ErrorInfo, type JobSpec, type ResumeDecision, type RunningJob } from '@archfarm/proto';
import { AgentLostError, BuildCancelledError, BuildNotFoundError, SecretsNotKeptError, StaleAttemptError } from '../errors';
import type { ConnectedAgent, Fleet } from '../fleet';
import type { Store } from '../store';
import { TERMINAL_BUILD_STATES, TERMINAL_JOB_STATES, type BaseImageRef, type Build, type BuildSpec, type Job } from './build';
import { BuildEvents } from './build-events';
import { buildFromRecords, buildRecord, jobRecord } from './build-records';
import { LogFiles } from './log-files';
import { retryDelay } from './retry';
import type { DurationHistory } from '../scheduling/history';

const RECONNECT_GRACE_MS = 15_000;

/** The build asked for secrets whose values this process does not have (restored after a restart). */
function secretsLost(build: Build): boolean {
  return build.spec.secretIds.length > 0 && build.spec.secrets === undefined;
}
/** How long a finished build's events stay in memory for `archfarm build` to replay. */
const FORGET_AFTER_MS = 10 * 60_000;

/** Publishes the given jobs' images under the build's tags; returns the index's descriptor. */
export type Publish = (build: Build, jobs: Job[]) => Promise<{ digest: string; mediaType: string; size: number }>;

export interface BuildSettings {
  /** Attempts per job before an infrastructure failure fails the build. */
  maxAttempts: number;
  /** A job whose agent has not renewed its lease for this long goes back to the queue. */
  leaseTtlMs: number;
  /** First retry delay; doubles per attempt, with full jitter. */
  retryBaseMs: number;
}

export interface BuildManagerDeps {
  fleet: Fleet;
  /** Learns how long builds take per agent, platform and repository. */
  history: DurationHistory;
  /** Whether a stored build's Dockerfile cross-compiles (re-read after a restart). */
  crossCompile: (contextDigest: string, dockerfile: string) => Promise<boolean>;
  store: Store;
  logs: LogFiles;
  /** Publishes with its own retries; a rejection ends the build. */
  publish: Publish;
  /** The job spec an agent receives, with per-job registry credentials. */
  jobSpec: (build: Build, job: Job) => JobSpec;
  logger: Logger;
  settings: BuildSettings;
}

/**
 * Owns builds and their jobs. Every state change goes through here, is fenced by the job's
 * current attempt and agent, is written to the store, and becomes an event watchers replay.
 */
export class BuildManager {
  private readonly builds = new Map<string, Build>();
  /** Builds not yet finished (running or publishing): the dispatcher's scans skip the ended ones kept for late watchers. */
  private readonly unfinished = new Map<string, Build>();
  private readonly jobs = new Map<string, Job>();
  private readonly events = new BuildEvents();
  /**
   * The last lease id handed out. Seeded from the store by restore(), then counted here:
   * an assignment's startAttempt must be called in the same tick as the job changes in
   * memory (writes land in call order), so it cannot wait for the store to count.
   */
  private lastLease: number | undefined;
  /** Called when queued work or free slots may have changed. */
  onQueueChanged: () => void = () => {};

  constructor(private readonly deps: BuildManagerDeps) {}

  /** Loads unfinished builds after a restart; a build caught while publishing publishes again. */
  async restore(): Promise<number> {
    const now = Date.now();
    this.lastLease = (await this.deps.store.nextLeaseId()) - 1;
    const unfinished = await this.deps.store.unfinishedBuilds();
    for (const records of unfinished) {
      // Agents back off up to 15 s between reconnects: give them that on top of a lease.
      const cross = await this.deps.crossCompile(records.build.spec.contextDigest, records.build.spec.dockerfile);
      const build = buildFromRecords(records, this.deps.settings.leaseTtlMs + RECONNECT_GRACE_MS, now, cross);
      this.track(build);
      for (const job of build.jobs) this.events.job(build, job);
      if (build.state === 'publishing') this.maybeFinish(build, true);
      else this.refuseLostSecrets(build);
    }
    this.onQueueChanged();
    return unfinished.length;
  }

  async submit(spec: BuildSpec, owner?: string): Promise<Build> {
    const id = randomBytes(6).toString('hex');
    const now = Date.now();
    const build: Build = { id, spec, state: 'running', jobs: [], events: [], createdAt: now, owner };
    build.jobs = spec.platforms.map((platform, i) => ({ id: `${id}-${i}`, buildId: id, platform, state: 'queued', attempt: 0, queuedAt: now, failedOn: new Set<string>() }));
    await this.deps.store.createBuild(buildRecord(build), build.jobs.map(jobRecord));
    this.track(build);
    for (const job of build.jobs) this.events.job(build, job);
    this.deps.logger.info({ buildId: id, tags: spec.tags.map(String), platforms: spec.platforms.map(String) }, 'build submitted');
    this.onQueueChanged();
    return build;
  }

  get(id: string): Build {
    const build = this.builds.get(id);
    if (!build) throw new BuildNotFoundError(id);
    return build;
  }

  has(id: string): boolean {
    return this.builds.has(id);
  }

  /** Builds still running, oldest first: the dispatcher serves them in this order. */
  active(): Build[] {
    return [...this.unfinished.values()].filter((b) => b.state === 'running');
  }

  /** Replays the build's events to `listener`, then follows; returns an unsubscribe. */
  watch(id: string, listener: (event: BuildEvent) => void): () => void {
    return this.events.watch(this.get(id), listener);
  }

  /** New events only (no replay); ends itself when the build ends. */
  follow(id: string, listener: (event: BuildEvent) => void): () => void {
    return this.events.follow(this.get(id), listener);
  }

  cancel(id: string): void {
    const build = this.get(id);
    if (build.state !== 'running') return;
    this.endBuild(build, 'cancelled', toErrorInfo(new BuildCancelledError(id)));
  }

  /** Hands `job` to `agent`: a new attempt with a new lease, stored before the agent hears of it. */
  async assign(job: Job, agent: ConnectedAgent, mode: 'native' | 'emulated', reason: string): Promise<void> {
    const build = this.get(job.buildId);
    const now = Date.now();
    Object.assign(job, { attempt: job.attempt + 1, state: 'assigned', agent: agent.name, mode, reason, startedAt: now, error: undefined, notBefore: undefined });
    job.leaseExpiresAt = now + this.deps.settings.leaseTtlMs;
    agent.jobs.add(job.id);
    const attempt = job.attempt;
    const leaseId = this.newLeaseId();
    job.leaseId = leaseId;
    // Called before any await, so no later write of this job (a cancel, say) lands before it;
    // the agent hears of the attempt only once it is on disk.
    await this.deps.store.startAttempt(
      { jobId: job.id, attempt, leaseId, agent: agent.name, mode, startedAt: now, outcome: 'running', reason, logPath: join('logs', LogFiles.relative(job.buildId, job.id, attempt)) },
      { state: 'assigned', attempt, agent: agent.name, mode, error: undefined, notBefore: undefined },
    );
    if (this.current(agent.name, job.id, attempt) !== job) return; // cancelled meanwhile
    const spec = this.deps.jobSpec(build, job);
    agent.send({ msg: { $case: 'assign', value: { jobId: job.id, attempt, leaseId, mode: modeToWire(mode), spec } } });
    this.deps.logger.info({ buildId: build.id, jobId: job.id, agent: agent.name, mode, attempt, reason }, 'job assigned');
    this.events.job(build, job);
  }

  /** The job if `agent` holds its current attempt, else undefined (a stale message). */
  current(agent: string, jobId: string, attempt: number): Job | undefined {
    const job = this.jobs.get(jobId);
    if (!job || job.agent !== agent || job.attempt !== attempt || TERMINAL_JOB_STATES.has(job.state) || job.state === 'queued') return undefined;
    return job;
  }

  markRunning(job: Job): void {
    job.state = 'running';
    this.persist((s) => s.updateJob(job.id, { state: 'running' }));
    this.events.job(this.get(job.buildId), job);
  }

  /** A heartbeat: every lease the agent holds runs for another TTL. */
  renewLeases(agent: ConnectedAgent): void {
    const until = Date.now() + this.deps.settings.leaseTtlMs;
    for (const id of agent.jobs) {
      const job = this.jobs.get(id);
      if (job && job.agent === agent.name && (job.state === 'assigned' || job.state === 'running')) job.leaseExpiresAt = until;
    }
  }

  /**
   * An agent (re)connected and listed the jobs it still runs: each current one continues
   * on the new connection; stale ones must stop; jobs the agent held but no longer has are lost.
   */
  resume(agent: ConnectedAgent, running: RunningJob[]): ResumeDecision[] {
    const decisions = running.map((r) => {
      const job = this.current(agent.name, r.jobId, r.attempt);
      if (job) agent.jobs.add(job.id);
      return { jobId: r.jobId, attempt: r.attempt, resume: job !== undefined };
    });
    this.renewLeases(agent);
    for (const job of this.jobs.values()) {
      const held = job.agent === agent.name && (job.state === 'assigned' || job.state === 'running');
      if (held && !agent.jobs.has(job.id)) this.fail(job, toErrorInfo(new AgentLostError(agent.name)), 'lost');
    }
    return decisions;
  }

  /** Jobs whose lease ran out go back to the queue (another agent preferred). */
  expireLeases(now: number): void {
    for (const job of this.jobs.values()) {
      if ((job.state === 'assigned' || job.state === 'running') && job.leaseExpiresAt !== undefined && job.leaseExpiresAt < now) {
        this.deps.logger.warn({ jobId: job.id, agent: job.agent }, 'lease expired');
        this.fail(job, toErrorInfo(new AgentLostError(job.agent ?? 'unknown')), 'lost');
      }
    }
  }

  /** The current attempt pushed `digest`, built from the FROM images `bases`. */
  succeed(job: Job, digest: string, bases: BaseImageRef[] = []): void {
    const build = this.get(job.buildId);
    if (job.agent && job.startedAt) this.deps.history.record(job.agent, job.platform.toString(), build.spec.tag.name, Date.now() - job.startedAt, job.mode);
    this.endAttempt(job, 'succeeded', bases.length > 0 ? { digest, bases } : { digest });
    job.state = 'succeeded';
    job.digest = digest;
    job.bases = bases;
    this.persist((s) => s.updateJob(job.id, { state: 'succeeded', digest }));
    this.events.job(build, job);
    this.maybeFinish(build);
  }

  /** A failed attempt: infrastructure failures retry with backoff up to the budget; others fail the job. */
  fail(job: Job, error: ErrorInfo, outcome: 'failed' | 'lost' = 'failed'): void {
    const build = this.get(job.buildId);
    const agent = job.agent;
    this.endAttempt(job, outcome, { error });
    job.error = error;
    if (error.kind === 'infrastructure' && secretsLost(build)) {
      // A retry would run without the build's secrets: end here, saying why.
      error = toErrorInfo(new SecretsNotKeptError(build.id, build.spec.secretIds));
      job.error = error;
    }
    if (error.kind === 'infrastructure' && job.attempt < this.deps.settings.maxAttempts && build.state === 'running') {
      if (agent) job.failedOn.add(agent);
      job.state = 'queued';
      job.queuedAt = Date.now();
      job.notBefore = job.queuedAt + retryDelay(job.attempt, this.deps.settings.retryBaseMs);
      this.deps.logger.warn({ buildId: build.id, jobId: job.id, agent, error, retryAt: job.notBefore }, 'job attempt failed, queued again');
      this.persist((s) => s.updateJob(job.id, { state: 'queued', error, queuedAt: job.queuedAt, failedOn: [...job.failedOn], notBefore: job.notBefore }));
      this.events.job(build, job);
      this.onQueueChanged();
      return;
    }
    if (error.kind === 'infrastructure') job.error = { ...error, message: `${error.message} (after ${job.attempt} attempts)` };
    job.state = 'failed';
    this.persist((s) => s.updateJob(job.id, { state: 'failed', error: job.error }));
    this.events.job(build, job);
    if (build.spec.allowPartial) this.maybeFinish(build);
    else this.endBuild(build, 'failed', job.error!, job.platform.toString());
  }

  /** Fails a build for a reason outside any one attempt (--wait-timeout, --timeout). */
  failBuild(build: Build, err: ArchfarmError, platform?: string): void {
    this.endBuild(build, 'failed', toErrorInfo(err), platform);
  }

  /** Writes a log chunk of the job's current attempt; see LogFiles.append. Returns the committed offset. */
  appendLog(jobId: string, attempt: number, offset: number, data: Buffer): number {
    const job = this.jobs.get(jobId);
    if (!job || job.attempt !== attempt) throw new StaleAttemptError(jobId, attempt);
    const { kept, at, committed } = this.deps.logs.append(job.buildId, jobId, attempt, offset, data);
    if (kept.length > 0) this.events.log(this.get(job.buildId), job, kept, at);
    return committed;
  }

  logOffset(jobId: string, attempt: number): number {
    const job = this.jobs.get(jobId);
    if (!job) throw new StaleAttemptError(jobId, attempt);
    return this.deps.logs.size(job.buildId, jobId, attempt);
  }

  emitWaiting(job: Job, reason: string): void {
    if (job.waitingReason === reason) return;
    job.waitingReason = reason;
    this.events.waiting(this.get(job.buildId), job, reason);
  }

  /**
   * A restored build whose --secret values were lost with the old process: its queued jobs
   * cannot run as asked, so they fail now (jobs an agent still runs keep going: that agent
   * has the values). Without allowPartial that ends the build.
   */
  private refuseLostSecrets(build: Build): void {
    if (!secretsLost(build)) return;
    const queued = build.jobs.filter((j) => j.state === 'queued');
    if (queued.length === 0) return;
    const error = toErrorInfo(new SecretsNotKeptError(build.id, build.spec.secretIds));
    for (const job of queued) {
      Object.assign(job, { state: 'failed', error });
      this.persist((s) => s.updateJob(job.id, { state: 'failed', error }));
      this.events.job(build, job);
    }
    this.deps.logger.warn({ buildId: build.id, secrets: build.spec.secretIds, jobs: queued.length }, 'build restored without its secret values');
    if (build.spec.allowPartial) this.maybeFinish(build);
    else this.endBuild(build, 'failed', error, queued[0]!.platform.toString());
  }

  private newLeaseId(): number {
    if (this.lastLease === undefined) throw new Error('BuildManager.restore() must run before jobs are assigned (it seeds the lease counter)');
    return ++this.lastLease;
  }

  private track(build: Build): void {
    this.builds.set(build.id, build);
    this.unfinished.set(build.id, build);
    for (const job of build.jobs) this.jobs.set(job.id, job);
  }

  private endAttempt(job: Job, outcome: 'succeeded' | 'failed' | 'cancelled' | 'lost', patch: { digest?: string; error?: ErrorInfo; bases?: BaseImageRef[] }): void {
    if (job.agent) this.deps.fleet.get(job.agent)?.jobs.delete(job.id);
    job.leaseExpiresAt = undefined;
    const attempt = job.attempt;
    this.deps.logs.close(job.id, attempt);
    const logBytes = this.deps.logs.size(job.buildId, job.id, attempt);
    this.persist((s) => s.endAttempt(job.id, attempt, { endedAt: Date.now(), outcome, logBytes, ...patch }));
    this.onQueueChanged();
  }

  /** Publishes once every job is done: all of them, or with allowPartial those that succeeded. */
  private maybeFinish(build: Build, force = false): void {
    if (!force && (build.state !== 'running' || !build.jobs.every((j) => TERMINAL_JOB_STATES.has(j.state)))) return;
    const good = build.jobs.filter((j) => j.state === 'succeeded');
    if (good.length === 0) {
      const first = build.jobs.find((j) => j.error);
      this.endBuild(build, 'failed', first?.error ?? { code: 'NOTHING_BUILT', message: 'no platform succeeded', kind: 'build' }, first?.platform.toString());
      return;
    }
    build.leftOut = build.jobs.filter((j) => j.state !== 'succeeded').map((j) => ({ platform: j.platform.toString(), error: j.error }));
    void this.publish(build, good);
  }

  private async publish(build: Build, jobs: Job[]): Promise<void> {
    build.state = 'publishing';
    this.persist((s) => s.updateBuild(build.id, { state: 'publishing' }));
    try {
      const { digest, mediaType, size } = await this.deps.publish(build, jobs);
      if (build.state !== 'publishing') return;
      Object.assign(build, { digest, indexMediaType: mediaType, indexSize: size, state: 'published', finishedAt: Date.now() });
      this.persist((s) => s.updateBuild(build.id, { state: 'published', digest, indexMediaType: mediaType, indexSize: size, finishedAt: build.finishedAt }));
      this.deps.logger.info({ buildId: build.id, digest, tags: build.spec.tags.map(String) }, 'build published');
      this.finished(build);
    } catch (err) {
      this.deps.logger.error({ buildId: build.id, err: errorMessage(err) }, 'publish failed');
      build.state = 'running';
      this.endBuild(build, 'failed', toErrorInfo(err));
    }
  }

  private endBuild(build: Build, state: 'failed' | 'cancelled', error: ErrorInfo, platform?: string): void {
    if (TERMINAL_BUILD_STATES.has(build.state) || build.state === 'publishing') return;
    Object.assign(build, { state, error, failedPlatform: platform, finishedAt: Date.now() });
    for (const job of build.jobs) {
      if (TERMINAL_JOB_STATES.has(job.state)) continue;
      const agent = job.agent ? this.deps.fleet.get(job.agent) : undefined;
      if (agent && (job.state === 'assigned' || job.state === 'running')) {
        agent.send({ msg: { $case: 'cancel', value: { jobId: job.id, attempt: job.attempt, reason: error.message } } });
        this.endAttempt(job, 'cancelled', {});
      }
      job.state = 'cancelled';
      this.persist((s) => s.updateJob(job.id, { state: 'cancelled' }));
      this.events.job(build, job);
    }
    this.persist((s) => s.updateBuild(build.id, { state, error, failedPlatform: platform, finishedAt: build.finishedAt }));
    this.deps.logger.info({ buildId: build.id, state, error }, 'build ended');
    this.finished(build);
  }

  /**
   * The last event; the build stays in memory a while for late watchers, then only in the
   * store (and its logs on disk), so a long-running coordinator does not grow without end.
   */
  private finished(build: Build): void {
    this.unfinished.delete(build.id);
    this.events.finished(build);
    setTimeout(() => {
      this.builds.delete(build.id);
      for (const job of build.jobs) this.jobs.delete(job.id);
    }, FORGET_AFTER_MS).unref();
  }

  /**
   * A write nobody waits for; a failure is logged and does not stop the ones after it. The
   * store applies writes in call order, so a job's changes land in the order made here.
   */
  private persist(write: (store: Store) => Promise<void>): void {
    write(this.deps.store).catch((err: unknown) => this.deps.logger.error({ err: errorMessage(err) }, 'store write failed'));
  }
}
