import { randomBytes } from 'node:crypto';
import { type ArchfarmError, errorMessage, type Logger } from '@archfarm/common';
import { modeToWire, toErrorInfo, type Assign, type BuildEvent, type CoordinatorMessage, type ErrorInfo, type JobFinished, type RegistryAuth, type ResumeDecision, type RunningJob } from '@archfarm/proto';
import { AgentLostError, AttemptNotHeldError, BuildNotFoundError, SecretsNotKeptError, StaleAttemptError } from '../errors';
import { PublishStoppedError } from '../publish';
import type { Store } from '../store';
import { TERMINAL_BUILD_STATES, type Build, type BuildSpec, type BuildStateName, type Job } from './build';
import { BuildEvents } from './build-events';
import { buildFromRecords, buildRecord, jobRecord } from './build-records';
import { Holdings } from './holdings';
import { secretsMissing, transition, type Effect, type LifecycleEvent, type LifecycleSettings } from './lifecycle';
import { LogFiles } from './log-files';
import { checkJobs, platformJobs } from '../cross-check/pairs';
import type { DurationHistory } from '../scheduling/history';
import { NO_OBSERVER, type BuildObserver } from '../metrics/coordinator-metrics';

/** Agents back off up to 15 s between reconnects: after a restart they get that on top of a lease. */
const RECONNECT_GRACE_MS = 15_000;
/** How long a finished build's events stay in memory for `archfarm build` to replay. */
const FORGET_AFTER_MS = 10 * 60_000;

/** What an Assign carries besides its ids: the spec and the attempt's registry tokens. */
export type JobAssignment = Pick<Assign, 'spec' | 'tokens'>;

/** Publishes the given jobs' images under the build's tags; returns the index's descriptor. */
export type Publish = (build: Build, jobs: Job[], stop: AbortSignal) => Promise<{ digest: string; mediaType: string; size: number }>;

export type BuildSettings = LifecycleSettings;

/** The one way messages reach agents: by name, false when the agent is not connected. */
export interface AgentPort {
  send(agent: string, message: CoordinatorMessage): boolean;
}

/** The credentials a build was submitted with, kept sealed for its life (./build-credentials). */
export interface KeptCredentials {
  keep(buildId: string, auth: RegistryAuth): void;
  recall(buildId: string): Promise<RegistryAuth | undefined>;
  forget(buildId: string): void;
}

/**
 * Completes a validated spec: registry credentials (those given with the build, else the
 * coordinator's own), credentials for the FROM images' registries, the cross-compile
 * analysis. Submit and restore both go through it, so a resumed build is the build submitted.
 */
export type ResolveSpec = (spec: BuildSpec, given: RegistryAuth | undefined) => Promise<BuildSpec>;

export interface BuildManagerDeps {
  agents: AgentPort;
  /** Learns how long builds take per agent, platform and repository. */
  history: DurationHistory;
  resolveSpec: ResolveSpec;
  credentials: KeptCredentials;
  store: Store;
  logs: LogFiles;
  /** Publishes with its own retries; a rejection ends the build. */
  publish: Publish;
  /** The job spec an agent receives, with per-job registry credentials (and push tokens, fetched first). */
  jobSpec: (build: Build, job: Job) => JobAssignment | Promise<JobAssignment>;
  logger: Logger;
  settings: BuildSettings;
  /** Told of assignments, results, retries, lease expiries, ends and publishes (metrics). */
  observer?: BuildObserver;
}

/** What the dispatcher needs: the queue, placement's effects, and time-driven failures. */
export interface DispatchSide {
  active(): Build[];
  job(jobId: string): Job | undefined;
  assign(jobId: string, agent: string, mode: 'native' | 'emulated', reason: string): void;
  emitWaiting(jobId: string, reason: string): void;
  failBuild(buildId: string, err: ArchfarmError, platform?: string): void;
  expireLeases(now: number): void;
  readonly holdings: Holdings;
  onQueueChanged: () => void;
}

/** What the agents' service needs: their reports, fenced by attempt. */
export interface AgentSide {
  connected(agent: string, running: RunningJob[]): ResumeDecision[];
  heartbeat(agent: string, held: RunningJob[]): void;
  started(agent: string, jobId: string, attempt: number): void;
  rejected(agent: string, jobId: string, attempt: number, reason: string): void;
  finished(agent: string, result: JobFinished): void;
  /** `agent`: the caller's certificate name; undefined only on a coordinator without TLS. */
  appendLog(agent: string | undefined, jobId: string, attempt: number, offset: number, data: Buffer): number;
  logOffset(agent: string | undefined, jobId: string, attempt: number): number;
  /** Refuses unless `agent` holds an attempt of a build of this context. */
  checkContextHeld(agent: string | undefined, digest: string): void;
}

/** What the operators' service needs. */
export interface BuildSide {
  submit(spec: BuildSpec, given: RegistryAuth | undefined, owner?: string): Promise<Build>;
  has(id: string): boolean;
  get(id: string): Build;
  active(): Build[];
  watch(id: string, listener: (event: BuildEvent) => void): () => void;
  follow(id: string, listener: (event: BuildEvent) => void): () => void;
  cancel(id: string): Promise<BuildStateName>;
}

/**
 * Executes the build lifecycle (./lifecycle decides): applies each transition's effects in
 * order — the store first, then watchers, agents and the dispatcher — and keeps builds in
 * memory while they run and a while after for late watchers.
 */
export class BuildManager implements DispatchSide, AgentSide, BuildSide {
  private readonly builds = new Map<string, Build>();
  /** Builds not yet finished (running or publishing), oldest first. */
  private readonly unfinished = new Set<string>();
  /** Job id -> build id. */
  private readonly jobIndex = new Map<string, string>();
  private readonly events = new BuildEvents();
  readonly holdings = new Holdings();
  /** Publishes in flight, to stop one when a cancel arrives in time. */
  private readonly publishing = new Map<string, AbortController>();
  /** Resolved when the build ends: a cancel during publish answers with the outcome. */
  private readonly endings = new Map<string, Array<(state: BuildStateName) => void>>();
  /**
   * The last lease id handed out. Seeded from the store by restore(), then counted here:
   * an assignment's start-attempt write must be issued in the same tick as the job changes
   * in memory (writes land in call order), so it cannot wait for the store to count.
   */
  private lastLease: number | undefined;
  /** Called when queued work or free slots may have changed. */
  onQueueChanged: () => void = () => {};

  private readonly observer: BuildObserver;

  constructor(private readonly deps: BuildManagerDeps) {
    this.observer = deps.observer ?? NO_OBSERVER;
  }

  /** Loads unfinished builds after a restart; a build caught while publishing publishes again. */
  async restore(): Promise<number> {
    const now = Date.now();
    this.lastLease = (await this.deps.store.nextLeaseId()) - 1;
    const unfinished = await this.deps.store.unfinishedBuilds();
    for (const records of unfinished) {
      const stored = buildFromRecords(records, this.deps.settings.leaseTtlMs + RECONNECT_GRACE_MS, now);
      const given = await this.deps.credentials.recall(stored.id).catch((err: unknown) => {
        this.deps.logger.warn({ buildId: stored.id, err: errorMessage(err) }, 'the build\'s kept credentials cannot be read; resuming with the coordinator\'s own');
        return undefined;
      });
      const build = { ...stored, spec: await this.deps.resolveSpec(stored.spec, given) };
      this.track(build);
      for (const job of build.jobs) this.events.job(build, job);
      if (build.state === 'publishing') this.startPublish(build, platformJobs(build).filter((j) => j.state === 'succeeded'));
      else if (secretsMissing(build)) this.apply(build.id, { type: 'secrets-lost', error: toErrorInfo(new SecretsNotKeptError(build.id, build.spec.secretIds)) });
    }
    this.onQueueChanged();
    return unfinished.length;
  }

  async submit(spec: BuildSpec, given: RegistryAuth | undefined, owner?: string): Promise<Build> {
    const id = randomBytes(6).toString('hex');
    const now = Date.now();
    const jobs: Job[] = spec.platforms.map((platform, i) => ({ id: `${id}-${i}`, buildId: id, platform, state: 'queued' as const, attempt: 0, queuedAt: now, failedOn: new Set<string>() }));
    jobs.push(...checkJobs(id, spec, now));
    const build: Build = { id, spec, state: 'running', jobs, createdAt: now, owner };
    await this.deps.store.createBuild(buildRecord(build), jobs.map(jobRecord));
    if (given) this.deps.credentials.keep(id, given);
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

  job(jobId: string): Job | undefined {
    const buildId = this.jobIndex.get(jobId);
    return buildId === undefined ? undefined : this.builds.get(buildId)?.jobs.find((j) => j.id === jobId);
  }

  /** Builds still running, oldest first: the dispatcher serves them in this order. */
  active(): Build[] {
    return [...this.unfinished].map((id) => this.builds.get(id)!).filter((b) => b.state === 'running');
  }

  /** Replays the build's events to `listener`, then follows; returns an unsubscribe. */
  watch(id: string, listener: (event: BuildEvent) => void): () => void {
    return this.events.watch(this.get(id), listener);
  }

  /** New events only (no replay); ends itself when the build ends. */
  follow(id: string, listener: (event: BuildEvent) => void): () => void {
    return this.events.follow(this.get(id), listener);
  }

  /**
   * Cancels a running build at once. During publish the cancel wins only if the index is not
   * written yet: the answer is the state the build ended in (cancelled or published).
   */
  async cancel(id: string): Promise<BuildStateName> {
    const build = this.get(id);
    if (TERMINAL_BUILD_STATES.has(build.state)) return build.state;
    const ended = new Promise<BuildStateName>((resolve) => {
      const waiting = this.endings.get(id) ?? [];
      waiting.push(resolve);
      this.endings.set(id, waiting);
    });
    this.apply(id, { type: 'cancel' });
    return ended;
  }

  /** Hands the job to `agent`: a new attempt with a new lease, stored before the agent hears of it. */
  assign(jobId: string, agent: string, mode: 'native' | 'emulated', reason: string): void {
    const buildId = this.jobIndex.get(jobId);
    if (buildId === undefined) return;
    this.apply(buildId, { type: 'assign', jobId, agent, mode, reason, leaseId: this.newLeaseId() });
  }

  /**
   * An agent (re)connected and listed the attempts it still runs: each current one continues
   * on the new connection; stale ones must stop; attempts it held here but did not list are lost.
   */
  connected(agent: string, running: RunningJob[]): ResumeDecision[] {
    const decisions = running.map((r) => ({ jobId: r.jobId, attempt: r.attempt, resume: this.isCurrent(agent, r) }));
    for (const [i, d] of decisions.entries()) if (d.resume) this.attemptEvent(d.jobId, { type: 'renew', jobId: d.jobId, attempt: d.attempt, agent, leaseId: running[i]!.leaseId });
    for (const held of this.holdings.of(agent)) {
      if (!running.some((r) => r.jobId === held.jobId && r.attempt === held.attempt)) {
        this.attemptEvent(held.jobId, { type: 'lost', jobId: held.jobId, attempt: held.attempt, error: toErrorInfo(new AgentLostError(agent)) });
      }
    }
    return decisions;
  }

  /**
   * A heartbeat renews the leases of the attempts it lists, and only those: an attempt the
   * agent no longer lists runs out. One it lists that is not current here (it moved while
   * the agent was frozen) is answered with Cancel.
   */
  heartbeat(agent: string, held: RunningJob[]): void {
    for (const h of held) this.attemptEvent(h.jobId, { type: 'renew', jobId: h.jobId, attempt: h.attempt, agent, leaseId: h.leaseId }, agent);
  }

  started(agent: string, jobId: string, attempt: number): void {
    this.attemptEvent(jobId, { type: 'started', jobId, attempt, agent }, agent);
  }

  rejected(agent: string, jobId: string, attempt: number, reason: string): void {
    const error: ErrorInfo = { code: 'JOB_REJECTED', message: `agent ${agent} rejected the job: ${reason}`, kind: 'infrastructure' };
    this.attemptEvent(jobId, { type: 'failed', jobId, attempt, agent, error });
  }

  finished(agent: string, result: JobFinished): void {
    const { jobId, attempt } = result;
    if (result.error) this.attemptEvent(jobId, { type: 'failed', jobId, attempt, agent, error: result.error });
    else this.attemptEvent(jobId, { type: 'succeeded', jobId, attempt, agent, digest: result.digest, bases: result.bases });
  }

  /** Attempts whose lease ran out go back to the queue (another agent preferred). */
  expireLeases(now: number): void {
    for (const id of this.unfinished) {
      for (const job of this.builds.get(id)?.jobs ?? []) {
        if ((job.state === 'assigned' || job.state === 'running') && job.leaseExpiresAt !== undefined && job.leaseExpiresAt < now) {
          this.deps.logger.warn({ jobId: job.id, agent: job.agent, attempt: job.attempt }, 'lease expired');
          this.observer.leaseExpired();
          this.apply(id, { type: 'lost', jobId: job.id, attempt: job.attempt, error: toErrorInfo(new AgentLostError(job.agent ?? 'unknown')) });
        }
      }
    }
  }

  /** Fails a build for a reason outside any one attempt (--wait-timeout, --timeout, no eligible agent). */
  failBuild(buildId: string, err: ArchfarmError, platform?: string): void {
    this.apply(buildId, { type: 'fail', error: toErrorInfo(err), platform });
  }

  /** Writes a log chunk of the job's current attempt; see LogFiles.append. Returns the committed offset. */
  appendLog(agent: string | undefined, jobId: string, attempt: number, offset: number, data: Buffer): number {
    const job = this.heldAttempt(agent, jobId, attempt);
    const { kept, at, committed } = this.deps.logs.append(job.buildId, jobId, attempt, offset, data);
    if (kept.length > 0) this.events.log(this.get(job.buildId), job, kept, at);
    return committed;
  }

  logOffset(agent: string | undefined, jobId: string, attempt: number): number {
    const job = this.heldAttempt(agent, jobId, attempt);
    return this.deps.logs.size(job.buildId, jobId, attempt);
  }

  checkContextHeld(agent: string | undefined, digest: string): void {
    // Without TLS any caller may Connect under any name: there is no one to check.
    if (agent === undefined) return;
    if (this.holdings.of(agent).some((h) => this.builds.get(this.jobIndex.get(h.jobId) ?? '')?.spec.contextDigest === digest)) return;
    throw new AttemptNotHeldError(agent, `an attempt of a build of context ${digest}`);
  }

  /**
   * The job, when `agent` holds this attempt now (Holdings says who holds what). Its own
   * attempt that ended or was superseded is stale (the agent stops that work); anything else
   * is another agent's. Without TLS there is no caller name: the attempt must be held at all.
   */
  private heldAttempt(agent: string | undefined, jobId: string, attempt: number): Job {
    const job = this.job(jobId);
    const by = agent ?? job?.agent;
    if (job && by !== undefined && this.holdings.holds(by, jobId, attempt)) return job;
    if (agent === undefined || (job && (job.attempt > attempt || (job.attempt === attempt && job.agent === agent)))) throw new StaleAttemptError(jobId, attempt);
    throw new AttemptNotHeldError(agent, `job ${jobId} attempt ${attempt}`);
  }

  emitWaiting(jobId: string, reason: string): void {
    const job = this.job(jobId);
    if (!job || job.waitingReason === reason) return;
    const build = this.get(job.buildId);
    const waiting = { ...job, waitingReason: reason };
    this.replace({ ...build, jobs: build.jobs.map((j) => (j.id === jobId ? waiting : j)) });
    this.events.waiting(build, waiting, reason);
  }

  /** Whether `agent` holds this attempt under this lease (a lease id of 0 is not checked). */
  private isCurrent(agent: string, held: RunningJob): boolean {
    const job = this.job(held.jobId);
    const lease = held.leaseId === 0 || job?.leaseId === undefined || job.leaseId === held.leaseId;
    return job !== undefined && lease && job.agent === agent && job.attempt === held.attempt && (job.state === 'assigned' || job.state === 'running');
  }

  /** An event about one attempt; for a job no longer in memory, the agent (if named) is told to stop. */
  private attemptEvent(jobId: string, event: LifecycleEvent, stopAgent?: string): void {
    const buildId = this.jobIndex.get(jobId);
    if (buildId !== undefined) {
      this.apply(buildId, event);
      return;
    }
    if (stopAgent && 'attempt' in event) this.stopAttempt(stopAgent, jobId, event.attempt, 'attempt is no longer current');
  }

  /** Runs one transition and applies its effects; an illegal one is logged and changes nothing. */
  private apply(buildId: string, event: LifecycleEvent): void {
    const build = this.builds.get(buildId);
    if (!build) return;
    let result;
    try {
      result = transition(build, event, Date.now(), this.deps.settings);
    } catch (err) {
      this.deps.logger.warn({ buildId, event: event.type, err: errorMessage(err) }, 'transition refused');
      return;
    }
    if (result.stale) this.deps.logger.warn({ buildId, event: event.type, ...('attempt' in event ? { jobId: event.jobId, attempt: event.attempt } : {}) }, 'stale attempt refused');
    if (result.build !== build) this.replace(result.build);
    this.run(result.build.id, result.effects);
  }

  private replace(next: Build): void {
    const before = this.builds.get(next.id);
    this.builds.set(next.id, next);
    for (const job of next.jobs) {
      const old = before?.jobs.find((j) => j.id === job.id);
      if (old !== job) this.holdings.update(old, job);
    }
  }

  /** Applies effects in order. After a start-attempt, the rest waits until it is on disk. */
  private run(buildId: string, effects: Effect[]): void {
    for (let i = 0; i < effects.length; i++) {
      const effect = effects[i]!;
      if (effect.type === 'start-attempt') {
        this.observeAssigned(effect.record.jobId, effect.record.startedAt);
        const durable = this.deps.store.startAttempt(effect.record, effect.job);
        const rest = effects.slice(i + 1);
        durable.then(
          () => this.run(buildId, rest),
          (err: unknown) => this.deps.logger.error({ jobId: effect.record.jobId, err: errorMessage(err) }, 'attempt not stored; not sent'),
        );
        return;
      }
      this.effect(buildId, effect);
    }
  }

  private effect(buildId: string, effect: Exclude<Effect, { type: 'start-attempt' }>): void {
    const build = this.builds.get(buildId);
    if (!build) return;
    const job = 'jobId' in effect ? build.jobs.find((j) => j.id === effect.jobId) : undefined;
    switch (effect.type) {
      case 'send-assign': {
        // Cancelled (or reassigned) while the attempt was being stored: nothing to send.
        // Jobs are replaced, never changed: read the job afresh, not the one of this moment.
        const current = () => {
          const now = this.job(effect.jobId);
          return now !== undefined && now.attempt === effect.attempt && now.agent === effect.agent && now.state === 'assigned';
        };
        if (!job || !current()) return;
        const send = (assignment: JobAssignment) => {
          // A push token is fetched first (./job-spec): the attempt may have moved or been cancelled meanwhile.
          if (!current()) return;
          this.deps.agents.send(effect.agent, { msg: { $case: 'assign', value: { jobId: job.id, attempt: job.attempt, leaseId: job.leaseId ?? 0, mode: modeToWire(job.mode ?? 'native'), ...assignment } } });
        };
        const assignment = this.deps.jobSpec(build, job);
        if (assignment instanceof Promise) assignment.then(send, (err: unknown) => this.deps.logger.error({ jobId: job.id, err: errorMessage(err) }, 'job spec not made; not sent'));
        else send(assignment);
        return;
      }
      case 'end-attempt': {
        if (effect.job.state === 'queued' && job) this.observer.jobRetried(job.platform.toString());
        this.deps.logs.close(effect.jobId, effect.attempt);
        const logBytes = this.deps.logs.size(buildId, effect.jobId, effect.attempt);
        return this.persist((s) => s.endAttempt(effect.jobId, effect.attempt, { endedAt: Date.now(), outcome: effect.outcome, logBytes, ...effect.patch }, effect.job));
      }
      case 'persist-job':
        return this.persist((s) => s.updateJob(effect.jobId, effect.patch));
      case 'persist-build':
        return this.persist((s) => s.updateBuild(buildId, effect.patch));
      case 'notify-job':
        if (job) this.events.job(build, job);
        return;
      case 'stop-attempt':
        return this.stopAttempt(effect.agent, effect.jobId, effect.attempt, effect.reason);
      case 'record-duration':
        if (job) this.deps.history.record(effect.agent, job.platform.toString(), build.spec.tag.name, effect.ms, effect.mode);
        if (job) this.observer.jobSucceeded(job.platform.toString(), effect.mode ?? 'native', effect.ms);
        return;
      case 'queue-changed':
        return this.onQueueChanged();
      case 'publish':
        return this.startPublish(build, build.jobs.filter((j) => effect.jobIds.includes(j.id)));
      case 'stop-publish':
        this.publishing.get(buildId)?.abort();
        return;
      case 'ended':
        this.observer.buildEnded(build.state);
        return this.ended(build);
      case 'log':
        this.deps.logger[effect.level](effect.fields, effect.msg);
        return;
    }
  }

  private stopAttempt(agent: string, jobId: string, attempt: number, reason: string): void {
    this.deps.agents.send(agent, { msg: { $case: 'cancel', value: { jobId, attempt, reason } } });
  }

  private startPublish(build: Build, jobs: Job[]): void {
    const stop = new AbortController();
    if (build.stopRequested) stop.abort();
    this.publishing.set(build.id, stop);
    const began = Date.now();
    this.deps.publish(build, jobs, stop.signal).then(
      ({ digest, mediaType, size }) => {
        this.publishing.delete(build.id);
        this.observer.publishEnded('published', Date.now() - began);
        this.apply(build.id, { type: 'published', digest, mediaType, size });
      },
      (err: unknown) => {
        this.publishing.delete(build.id);
        const stopped = err instanceof PublishStoppedError;
        this.observer.publishEnded(stopped ? 'stopped' : 'failed', Date.now() - began);
        if (stopped) return this.apply(build.id, { type: 'publish-stopped' });
        this.deps.logger.error({ buildId: build.id, err: errorMessage(err) }, 'publish failed');
        this.apply(build.id, { type: 'publish-failed', error: toErrorInfo(err) });
      },
    );
  }

  /** The queue wait of a job just assigned: from when it (last) entered the queue. */
  private observeAssigned(jobId: string, assignedAt: number): void {
    const job = this.job(jobId);
    if (job) this.observer.jobAssigned(job.platform.toString(), assignedAt - job.queuedAt);
  }

  private newLeaseId(): number {
    if (this.lastLease === undefined) throw new Error('BuildManager.restore() must run before jobs are assigned (it seeds the lease counter)');
    return ++this.lastLease;
  }

  private track(build: Build): void {
    this.replace(build);
    this.unfinished.add(build.id);
    for (const job of build.jobs) this.jobIndex.set(job.id, build.id);
  }

  /**
   * The last event; the build stays in memory a while for late watchers, then only in the
   * store (and its logs on disk), so a long-running coordinator does not grow without end.
   */
  private ended(build: Build): void {
    this.unfinished.delete(build.id);
    this.deps.credentials.forget(build.id);
    this.events.finished(build);
    for (const resolve of this.endings.get(build.id) ?? []) resolve(build.state);
    this.endings.delete(build.id);
    setTimeout(() => {
      this.builds.delete(build.id);
      this.events.forget(build.id);
      for (const job of build.jobs) this.jobIndex.delete(job.id);
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
