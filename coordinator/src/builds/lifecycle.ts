import { join } from 'node:path';
import { toErrorInfo, type ErrorInfo, type ModeName } from '@archfarm/proto';
import { BuildCancelledError, IllegalTransitionError, SecretsNotKeptError } from '../errors';
import type { AttemptOutcome, AttemptRecord, BuildPatch, JobPatch } from '../store';
import { TERMINAL_JOB_STATES, type BaseImageRef, type Build, type BuildStateName, type Job } from './build';
import { BUILD_TABLE, JOB_EVENTS, JOB_TABLE } from './lifecycle-table';
import { LogFiles } from './log-files';
import { retryDelay } from './retry';
import { partnerOf, platformJobs } from '../cross-check/pairs';

/*
 * A build's life as a pure function: (build, event, now) -> (build, effects). Nothing here
 * writes, sends or waits; BuildManager applies the effects in the order given (the store
 * first, then watchers and agents). Builds and jobs are values: a transition returns new
 * objects for what changed and shares the rest.
 */

export type LifecycleEvent =
  | { type: 'assign'; jobId: string; agent: string; mode: ModeName; reason: string; leaseId: number }
  | { type: 'started'; jobId: string; attempt: number; agent: string }
  /** `leaseId`: the lease the agent says it holds (0 when it does not say); a different one is stale. */
  | { type: 'renew'; jobId: string; attempt: number; agent: string; leaseId: number }
  | { type: 'succeeded'; jobId: string; attempt: number; agent: string; digest: string; bases: BaseImageRef[] }
  | { type: 'failed'; jobId: string; attempt: number; agent: string; error: ErrorInfo }
  /** The attempt's agent is gone (its lease ran out, or it came back without the job). */
  | { type: 'lost'; jobId: string; attempt: number; error: ErrorInfo }
  | { type: 'cancel' }
  /** A reason outside any one attempt: --wait-timeout, --timeout, no eligible agent. */
  | { type: 'fail'; error: ErrorInfo; platform?: string }
  /** A restored build's --secret values died with the old process: its queued jobs cannot run. */
  | { type: 'secrets-lost'; error: ErrorInfo }
  | { type: 'published'; digest: string; mediaType: string; size: number }
  | { type: 'publish-failed'; error: ErrorInfo }
  | { type: 'publish-stopped' };

export type EndedOutcome = Exclude<AttemptOutcome, 'running'>;

export type Effect =
  /** Store the new attempt (and its job) durably before the agent hears of it. */
  | { type: 'start-attempt'; record: AttemptRecord; job: JobPatch }
  /** Send the Assign, once start-attempt is on disk and if the attempt is still current. */
  | { type: 'send-assign'; jobId: string; attempt: number; agent: string }
  /** Close the attempt's log, store its end and its job's patch in one write. */
  | { type: 'end-attempt'; jobId: string; attempt: number; outcome: EndedOutcome; patch: { digest?: string; error?: ErrorInfo; bases?: BaseImageRef[] }; job: JobPatch }
  | { type: 'persist-job'; jobId: string; patch: JobPatch }
  | { type: 'persist-build'; patch: BuildPatch }
  /** Tell watchers the job's new state. */
  | { type: 'notify-job'; jobId: string }
  /** Tell an agent to stop an attempt (Cancel). */
  | { type: 'stop-attempt'; agent: string; jobId: string; attempt: number; reason: string }
  | { type: 'record-duration'; jobId: string; agent: string; mode: ModeName | undefined; ms: number }
  /** Queued work or free slots may have changed: the dispatcher looks again. */
  | { type: 'queue-changed' }
  | { type: 'publish'; jobIds: string[] }
  /** A cancel arrived while publishing: stop before the index PUT if it is not too late. */
  | { type: 'stop-publish' }
  /** The build reached a final state: last event to watchers, its credentials forgotten. */
  | { type: 'ended' }
  | { type: 'log'; level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> };

export interface LifecycleSettings {
  /** Attempts per job before an infrastructure failure fails it. */
  maxAttempts: number;
  leaseTtlMs: number;
  /** First retry delay; see retryDelay. */
  retryBaseMs: number;
  /** For the retry jitter; Math.random unless a test fixes it. */
  random?: () => number;
}

export interface Transition {
  build: Build;
  effects: Effect[];
  /**
   * The event came from an attempt that is no longer current (fencing): nothing changed;
   * effects may tell its agent to stop.
   */
  stale?: true;
}

/** Applies `event` to `build`; refuses what the tables do not allow (IllegalTransitionError). */
export function transition(build: Build, event: LifecycleEvent, now: number, settings: LifecycleSettings): Transition {
  if (JOB_EVENTS.has(event.type) && event.type !== 'assign') {
    const fenced = fence(build, event as AttemptEvent);
    if (fenced) return fenced;
  }
  if (!BUILD_TABLE[build.state].has(event.type)) throw new IllegalTransitionError(event.type, `build ${build.id}`, build.state);
  const step = new Step(build, now, settings);
  switch (event.type) {
    case 'assign':
      step.assign(event);
      break;
    case 'started':
      step.started(event.jobId);
      break;
    case 'renew':
      step.renew(event.jobId);
      break;
    case 'succeeded':
      step.succeeded(event.jobId, event.digest, event.bases);
      break;
    case 'failed':
      step.attemptFailed(event.jobId, event.error, 'failed');
      break;
    case 'lost':
      step.attemptFailed(event.jobId, event.error, 'lost');
      break;
    case 'cancel':
      step.cancel();
      break;
    case 'fail':
      step.end('failed', event.error, event.platform);
      break;
    case 'secrets-lost':
      step.secretsLost(event.error);
      break;
    case 'published':
      step.published(event.digest, event.mediaType, event.size);
      break;
    case 'publish-failed':
      step.publishEnded('failed', event.error);
      break;
    case 'publish-stopped':
      step.publishEnded('cancelled', toErrorInfo(new BuildCancelledError(build.id)));
      break;
  }
  return { build: step.build, effects: step.effects };
}

type AttemptEvent = Extract<LifecycleEvent, { attempt: number }>;

/** The job `event` names if its attempt is the current one (and held by its agent), else the stale answer. */
function fence(build: Build, event: AttemptEvent): Transition | undefined {
  const job = build.jobs.find((j) => j.id === event.jobId);
  const agent = 'agent' in event ? event.agent : job?.agent;
  const lease = event.type === 'renew' && event.leaseId !== 0 && job?.leaseId !== undefined ? event.leaseId === job.leaseId : true;
  const current = job && lease && job.attempt === event.attempt && job.agent === agent && (job.state === 'assigned' || job.state === 'running');
  if (current) return undefined;
  // A finished attempt has nothing left to stop; a lost one's agent is gone.
  const tell = event.type === 'started' || event.type === 'renew';
  const effects: Effect[] = tell && agent ? [{ type: 'stop-attempt', agent, jobId: event.jobId, attempt: event.attempt, reason: 'attempt is no longer current' }] : [];
  return { build, effects, stale: true };
}

/** Whether a build asked for secrets whose values this process does not have (restored after a restart). */
export function secretsMissing(build: Build): boolean {
  return build.spec.secretIds.length > 0 && build.spec.secrets === undefined;
}

/** One transition being worked out: the build so far and the effects in order. */
class Step {
  readonly effects: Effect[] = [];

  constructor(
    public build: Build,
    private readonly now: number,
    private readonly settings: LifecycleSettings,
  ) {}

  assign(e: Extract<LifecycleEvent, { type: 'assign' }>): void {
    const job = this.job(e.jobId, 'assign');
    const attempt = job.attempt + 1;
    const { agent, mode, reason, leaseId } = e;
    this.setJob({ ...job, attempt, state: 'assigned', agent, mode, reason, leaseId, startedAt: this.now, leaseExpiresAt: this.now + this.settings.leaseTtlMs, error: undefined, notBefore: undefined, waitingReason: undefined });
    const logPath = join('logs', LogFiles.relative(job.buildId, job.id, attempt));
    this.effects.push(
      { type: 'start-attempt', record: { jobId: job.id, attempt, leaseId, agent, mode, startedAt: this.now, outcome: 'running', reason, logPath }, job: { state: 'assigned', attempt, agent, mode, error: undefined, notBefore: undefined } },
      { type: 'send-assign', jobId: job.id, attempt, agent },
      { type: 'notify-job', jobId: job.id },
      { type: 'log', level: 'info', msg: 'job assigned', fields: { buildId: job.buildId, jobId: job.id, agent, mode, attempt, reason } },
    );
  }

  started(jobId: string): void {
    const job = this.job(jobId, 'started');
    this.setJob({ ...job, state: 'running', leaseExpiresAt: this.now + this.settings.leaseTtlMs });
    this.effects.push({ type: 'persist-job', jobId, patch: { state: 'running' } }, { type: 'notify-job', jobId });
  }

  renew(jobId: string): void {
    const job = this.job(jobId, 'renew');
    this.setJob({ ...job, leaseExpiresAt: this.now + this.settings.leaseTtlMs });
  }

  succeeded(jobId: string, digest: string, bases: BaseImageRef[]): void {
    const job = this.job(jobId, 'succeeded');
    if (job.agent && job.startedAt !== undefined) this.effects.push({ type: 'record-duration', jobId, agent: job.agent, mode: job.mode, ms: this.now - job.startedAt });
    this.setJob({ ...job, state: 'succeeded', digest, bases, leaseId: undefined, leaseExpiresAt: undefined });
    this.effects.push(
      { type: 'end-attempt', jobId, attempt: job.attempt, outcome: 'succeeded', patch: bases.length > 0 ? { digest, bases } : { digest }, job: { state: 'succeeded', digest } },
      { type: 'notify-job', jobId },
      { type: 'queue-changed' },
    );
    // A cross-check job can start only now (../cross-check/pairs): its wait for an agent (--wait-timeout) starts now too.
    const check = job.check ? undefined : partnerOf(this.build.jobs, job);
    if (check?.state === 'queued') {
      this.setJob({ ...check, queuedAt: this.now });
      this.effects.push({ type: 'persist-job', jobId: check.id, patch: { queuedAt: this.now } });
    }
    this.maybeComplete();
  }

  /** Infrastructure failures go back to the queue with backoff while the budget lasts; others fail the job. */
  attemptFailed(jobId: string, error: ErrorInfo, outcome: 'failed' | 'lost'): void {
    const job = this.job(jobId, outcome);
    // A retry would run without the build's secrets: end here, saying why.
    const reason = error.kind === 'infrastructure' && secretsMissing(this.build) ? toErrorInfo(new SecretsNotKeptError(this.build.id, this.build.spec.secretIds)) : error;
    const ended = { type: 'end-attempt', jobId, attempt: job.attempt, outcome, patch: { error } } as const;
    if (reason.kind === 'infrastructure' && job.attempt < this.settings.maxAttempts) {
      const failedOn = new Set(job.failedOn);
      if (job.agent) failedOn.add(job.agent);
      const notBefore = this.now + retryDelay(job.attempt, this.settings.retryBaseMs, this.settings.random);
      this.setJob({ ...job, state: 'queued', error: reason, queuedAt: this.now, notBefore, failedOn, leaseId: undefined, leaseExpiresAt: undefined });
      this.effects.push(
        { ...ended, job: { state: 'queued', error: reason, queuedAt: this.now, failedOn: [...failedOn], notBefore } },
        { type: 'notify-job', jobId },
        { type: 'queue-changed' },
        { type: 'log', level: 'warn', msg: 'job attempt failed, queued again', fields: { buildId: job.buildId, jobId, agent: job.agent, error: reason, retryAt: notBefore } },
      );
      return;
    }
    this.setJob({ ...job, state: 'failed', error: reason, leaseId: undefined, leaseExpiresAt: undefined });
    this.effects.push({ ...ended, job: { state: 'failed', error: reason } }, { type: 'notify-job', jobId }, { type: 'queue-changed' });
    // A cross-checked platform is required even with allowPartial: it was asked to be verified.
    if (this.build.spec.allowPartial && !partnerOf(this.build.jobs, job)) this.maybeComplete();
    else this.end('failed', reason, job.platform.toString());
  }

  cancel(): void {
    if (this.build.state === 'publishing') {
      // The index may already be on its way: the publish decides (publish-stopped or published).
      if (this.build.stopRequested) return;
      this.build = { ...this.build, stopRequested: true };
      this.effects.push({ type: 'stop-publish' }, { type: 'log', level: 'info', msg: 'cancel requested while publishing', fields: { buildId: this.build.id } });
      return;
    }
    this.end('cancelled', toErrorInfo(new BuildCancelledError(this.build.id)));
  }

  secretsLost(error: ErrorInfo): void {
    const queued = this.build.jobs.filter((j) => j.state === 'queued');
    if (queued.length === 0) return;
    for (const job of queued) {
      this.setJob({ ...job, state: 'failed', error });
      this.effects.push({ type: 'persist-job', jobId: job.id, patch: { state: 'failed', error } }, { type: 'notify-job', jobId: job.id });
    }
    this.effects.push({ type: 'log', level: 'warn', msg: 'build restored without its secret values', fields: { buildId: this.build.id, secrets: this.build.spec.secretIds, jobs: queued.length } });
    if (this.build.spec.allowPartial && !queued.some((j) => partnerOf(this.build.jobs, j))) this.maybeComplete();
    else this.end('failed', error, queued[0]!.platform.toString());
  }

  published(digest: string, indexMediaType: string, indexSize: number): void {
    this.build = { ...this.build, state: 'published', digest, indexMediaType, indexSize, finishedAt: this.now };
    this.effects.push(
      { type: 'persist-build', patch: { state: 'published', digest, indexMediaType, indexSize, finishedAt: this.now } },
      { type: 'log', level: 'info', msg: 'build published', fields: { buildId: this.build.id, digest, tags: this.build.spec.tags.map(String) } },
      { type: 'ended' },
    );
  }

  publishEnded(state: 'failed' | 'cancelled', error: ErrorInfo): void {
    this.build = { ...this.build, state, error, finishedAt: this.now };
    this.effects.push(
      { type: 'persist-build', patch: { state, error, finishedAt: this.now } },
      { type: 'log', level: state === 'failed' ? 'warn' : 'info', msg: 'build ended', fields: { buildId: this.build.id, state, error } },
      { type: 'ended' },
    );
  }

  /** Ends a running build: its unfinished jobs are cancelled (their agents told to stop). */
  end(state: Extract<BuildStateName, 'failed' | 'cancelled'>, error: ErrorInfo, platform?: string): void {
    for (const job of this.build.jobs) {
      if (TERMINAL_JOB_STATES.has(job.state)) continue;
      const held = (job.state === 'assigned' || job.state === 'running') && job.agent !== undefined;
      this.setJob({ ...job, state: 'cancelled', leaseId: undefined, leaseExpiresAt: undefined });
      if (held) {
        this.effects.push(
          { type: 'stop-attempt', agent: job.agent!, jobId: job.id, attempt: job.attempt, reason: error.message },
          { type: 'end-attempt', jobId: job.id, attempt: job.attempt, outcome: 'cancelled', patch: {}, job: { state: 'cancelled' } },
          { type: 'queue-changed' },
        );
      } else {
        this.effects.push({ type: 'persist-job', jobId: job.id, patch: { state: 'cancelled' } });
      }
      this.effects.push({ type: 'notify-job', jobId: job.id });
    }
    this.build = { ...this.build, state, error, failedPlatform: platform, finishedAt: this.now };
    this.effects.push(
      { type: 'persist-build', patch: { state, error, failedPlatform: platform, finishedAt: this.now } },
      { type: 'log', level: 'info', msg: 'build ended', fields: { buildId: this.build.id, state, error } },
      { type: 'ended' },
    );
  }

  /** Once every job is done: publish those that succeeded (all, or with allowPartial some), or fail. */
  private maybeComplete(): void {
    if (this.build.state !== 'running' || !this.build.jobs.every((j) => TERMINAL_JOB_STATES.has(j.state))) return;
    // Check jobs are compared before the publish writes anything (../cross-check/verify), never published.
    const good = platformJobs(this.build).filter((j) => j.state === 'succeeded');
    if (good.length === 0) {
      const first = this.build.jobs.find((j) => j.error);
      this.end('failed', first?.error ?? { code: 'NOTHING_BUILT', message: 'no platform succeeded', kind: 'build' }, first?.platform.toString());
      return;
    }
    const leftOut = platformJobs(this.build).filter((j) => j.state !== 'succeeded').map((j) => ({ platform: j.platform.toString(), error: j.error }));
    this.build = { ...this.build, state: 'publishing', leftOut };
    this.effects.push({ type: 'persist-build', patch: { state: 'publishing' } }, { type: 'publish', jobIds: good.map((j) => j.id) });
  }

  /** The job, if the table lets `event` touch it in its state. */
  private job(jobId: string, event: Parameters<typeof JOB_TABLE.queued.has>[0]): Job {
    const job = this.build.jobs.find((j) => j.id === jobId);
    if (!job) throw new IllegalTransitionError(event, `job ${jobId}`, 'unknown');
    if (!JOB_TABLE[job.state].has(event)) throw new IllegalTransitionError(event, `job ${jobId}`, job.state);
    return job;
  }

  private setJob(job: Job): void {
    this.build = { ...this.build, jobs: this.build.jobs.map((j) => (j.id === job.id ? job : j)) };
  }
}
