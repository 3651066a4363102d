import { randomBytes } from 'node:crypto';
import { type ArchfarmError, errorMessage, type Logger } from '@archfarm/common';
import { modeToWire, toErrorInfo, type BuildEvent, type ErrorInfo, type JobSpec } from '@archfarm/proto';
import { BuildCancelledError, BuildNotFoundError, LogGapError, StaleAttemptError } from '../errors';
import type { ConnectedAgent, Fleet } from '../fleet';
import { TERMINAL_BUILD_STATES, TERMINAL_JOB_STATES, type Build, type BuildSpec, type Job } from './build';
import { BuildEvents } from './build-events';

/** Publishes a build whose every platform succeeded; returns the index digest. */
export type Publish = (build: Build) => Promise<string>;

export interface BuildManagerDeps {
  fleet: Fleet;
  publish: Publish;
  /** The job spec an agent receives, with per-job registry credentials. */
  jobSpec: (build: Build, job: Job) => JobSpec;
  logger: Logger;
  /** Attempts per job before an infrastructure failure fails the build. */
  maxAttempts: number;
  /** Bytes of log kept per job attempt. */
  maxLogBytes: number;
}

/**
 * Owns builds and their jobs: every state change goes through here, is checked against
 * the job's current attempt and agent, and becomes an event that watchers replay.
 */
export class BuildManager {
  private readonly builds = new Map<string, Build>();
  private readonly jobs = new Map<string, Job>();
  private readonly events = new BuildEvents();
  private leaseCounter = 0;
  /** Called when queued work or free slots may have changed. */
  onQueueChanged: () => void = () => {};

  constructor(private readonly deps: BuildManagerDeps) {}

  submit(spec: BuildSpec): Build {
    const id = randomBytes(6).toString('hex');
    const now = Date.now();
    const build: Build = { id, spec, state: 'running', jobs: [], events: [], createdAt: now };
    build.jobs = spec.platforms.map((platform, i) => ({
      id: `${id}-${i}`,
      buildId: id,
      platform,
      state: 'queued',
      attempt: 0,
      queuedAt: now,
      failedOn: new Set<string>(),
      logCommitted: 0,
    }));
    this.builds.set(id, build);
    for (const job of build.jobs) {
      this.jobs.set(job.id, job);
      this.events.job(build, job);
    }
    this.deps.logger.info({ buildId: id, tag: spec.tag.toString(), platforms: spec.platforms.map(String) }, 'build submitted');
    this.onQueueChanged();
    return build;
  }

  get(id: string): Build {
    const build = this.builds.get(id);
    if (!build) throw new BuildNotFoundError(id);
    return build;
  }

  /** Builds still running, oldest first: the dispatcher serves them in this order. */
  active(): Build[] {
    return [...this.builds.values()].filter((b) => b.state === 'running');
  }

  /** Replays the build's events to `listener`, then follows; returns an unsubscribe. */
  watch(id: string, listener: (event: BuildEvent) => void): () => void {
    return this.events.watch(this.get(id), listener);
  }

  cancel(id: string): void {
    const build = this.get(id);
    if (build.state !== 'running') return;
    this.endBuild(build, 'cancelled', toErrorInfo(new BuildCancelledError(id)));
  }

  /** Hands `job` to `agent`: a new attempt with a new lease. */
  assign(job: Job, agent: ConnectedAgent, mode: 'native' | 'emulated'): void {
    const build = this.get(job.buildId);
    job.attempt += 1;
    job.state = 'assigned';
    job.agent = agent.name;
    job.mode = mode;
    job.waitingReason = undefined;
    job.error = undefined;
    job.logCommitted = 0;
    agent.jobs.add(job.id);
    const spec = this.deps.jobSpec(build, job);
    agent.send({
      msg: { $case: 'assign', value: { jobId: job.id, attempt: job.attempt, leaseId: ++this.leaseCounter, mode: modeToWire(mode), spec } },
    });
    this.deps.logger.info({ buildId: build.id, jobId: job.id, agent: agent.name, mode, attempt: job.attempt }, 'job assigned');
    this.events.job(build, job);
  }

  /** The job if `agent` holds its current attempt, else undefined (a stale message). */
  current(agent: string, jobId: string, attempt: number): Job | undefined {
    const job = this.jobs.get(jobId);
    if (!job || job.agent !== agent || job.attempt !== attempt || TERMINAL_JOB_STATES.has(job.state)) return undefined;
    return job;
  }

  markRunning(job: Job): void {
    job.state = 'running';
    this.events.job(this.get(job.buildId), job);
  }

  succeed(job: Job, digest: string): void {
    const build = this.get(job.buildId);
    this.release(job);
    job.state = 'succeeded';
    job.digest = digest;
    this.events.job(build, job);
    if (build.state === 'running' && build.jobs.every((j) => j.state === 'succeeded')) void this.publish(build);
  }

  /** A failed attempt: infrastructure failures retry up to the budget; a failing Dockerfile or bad input fails the build. */
  fail(job: Job, error: ErrorInfo): void {
    const build = this.get(job.buildId);
    const agent = job.agent;
    this.release(job);
    job.error = error;
    if (error.kind === 'infrastructure' && job.attempt < this.deps.maxAttempts) {
      if (agent) job.failedOn.add(agent);
      job.state = 'queued';
      job.queuedAt = Date.now();
      this.deps.logger.warn({ buildId: build.id, jobId: job.id, agent, error }, 'job attempt failed, queued again');
      this.events.job(build, job);
      this.onQueueChanged();
      return;
    }
    job.state = 'failed';
    this.events.job(build, job);
    this.endBuild(build, 'failed', error, job.platform.toString());
  }

  /** Fails a build whose job cannot be placed (e.g. --wait-timeout). */
  failBuild(build: Build, err: ArchfarmError, platform?: string): void {
    this.endBuild(build, 'failed', toErrorInfo(err), platform);
  }

  /** Every job an agent held goes back to the queue (or fails when out of attempts). */
  agentLost(agent: ConnectedAgent, error: ArchfarmError): void {
    for (const jobId of agent.jobs) {
      const job = this.jobs.get(jobId);
      if (job && job.agent === agent.name && !TERMINAL_JOB_STATES.has(job.state)) this.fail(job, toErrorInfo(error));
    }
    agent.jobs.clear();
  }

  /**
   * Appends a log chunk of the job's current attempt at byte `offset`. Bytes already
   * committed are skipped, so a resend after a reconnect neither loses nor doubles output.
   * Returns the committed offset.
   */
  appendLog(jobId: string, attempt: number, offset: number, data: Buffer): number {
    const job = this.jobs.get(jobId);
    if (!job || job.attempt !== attempt) throw new StaleAttemptError(jobId, attempt);
    if (offset > job.logCommitted) throw new LogGapError(jobId, job.logCommitted, offset);
    const fresh = data.subarray(job.logCommitted - offset);
    const room = Math.max(0, this.deps.maxLogBytes - job.logCommitted);
    if (fresh.length > 0 && room > 0) {
      const kept = fresh.subarray(0, room);
      const note = kept.length < fresh.length ? Buffer.from('\n[archfarm: log truncated at the per-job limit]\n') : undefined;
      this.events.log(this.get(job.buildId), job, note ? Buffer.concat([kept, note]) : kept);
    }
    // Bytes past the cap count as committed: the agent must not resend them forever.
    job.logCommitted = Math.max(job.logCommitted, offset + data.length);
    return job.logCommitted;
  }

  emitWaiting(job: Job, reason: string): void {
    if (job.waitingReason === reason) return;
    job.waitingReason = reason;
    this.events.waiting(this.get(job.buildId), job, reason);
  }

  private release(job: Job): void {
    if (job.agent) this.deps.fleet.get(job.agent)?.jobs.delete(job.id);
    this.onQueueChanged();
  }

  private async publish(build: Build): Promise<void> {
    build.state = 'publishing';
    try {
      build.digest = await this.deps.publish(build);
      build.state = 'published';
      this.deps.logger.info({ buildId: build.id, digest: build.digest, tag: build.spec.tag.toString() }, 'build published');
      this.events.finished(build);
    } catch (err) {
      this.deps.logger.error({ buildId: build.id, err: errorMessage(err) }, 'publish failed');
      build.state = 'running';
      this.endBuild(build, 'failed', toErrorInfo(err));
    }
  }

  private endBuild(build: Build, state: 'failed' | 'cancelled', error: ErrorInfo, platform?: string): void {
    if (TERMINAL_BUILD_STATES.has(build.state)) return;
    build.state = state;
    build.error = error;
    build.failedPlatform = platform;
    for (const job of build.jobs) {
      if (TERMINAL_JOB_STATES.has(job.state)) continue;
      const agent = job.agent ? this.deps.fleet.get(job.agent) : undefined;
      if (agent && (job.state === 'assigned' || job.state === 'running')) {
        agent.send({ msg: { $case: 'cancel', value: { jobId: job.id, attempt: job.attempt, reason: error.message } } });
      }
      this.release(job);
      job.state = 'cancelled';
      this.events.job(build, job);
    }
    this.deps.logger.info({ buildId: build.id, state, error }, 'build ended');
    this.events.finished(build);
  }
}
