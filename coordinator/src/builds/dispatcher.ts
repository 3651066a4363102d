import type { Logger } from '@archfarm/common';
import { BuildTimeoutError, NoAgentError } from '../errors';
import type { Fleet } from '../fleet';
import { pickAgent, waitingReason, type AgentView } from '../scheduler';
import type { BuildManager } from './build-manager';

/**
 * Places queued jobs on agents with free slots, oldest build first, and enforces each
 * build's --wait-timeout. Runs whenever the queue or the fleet changes; work is coalesced
 * into one pass per tick so a burst of events costs one scan.
 */
export class Dispatcher {
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly builds: BuildManager,
    private readonly fleet: Fleet,
    private readonly logger: Logger,
  ) {
    builds.onQueueChanged = () => this.kick();
    fleet.on('changed', () => this.kick());
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  /** Time-driven work: leases that ran out, timeouts, and retries whose backoff has passed. */
  private tick(): void {
    const now = Date.now();
    this.builds.expireLeases(now);
    this.enforceWaitTimeouts(now);
    this.enforceBuildTimeouts(now);
    this.kick();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const build of this.builds.active()) {
      for (const job of build.jobs) {
        if (job.state !== 'queued' || (job.notBefore ?? 0) > Date.now()) continue;
        const views = this.views();
        const placement = pickAgent(job.platform, views, job.failedOn);
        const agent = placement && this.fleet.get(placement.agent);
        if (placement && agent) {
          this.builds.assign(job, agent, placement.mode).catch((err: unknown) => this.logger.error({ jobId: job.id, err: String(err) }, 'assign failed'));
        } else {
          this.builds.emitWaiting(job, waitingReason(job.platform, views));
        }
      }
    }
  }

  private views(): AgentView[] {
    return this.fleet.list().map((a) => ({ name: a.name, platforms: a.platforms, slots: a.slots, busy: a.jobs.size }));
  }

  private enforceWaitTimeouts(now: number): void {
    for (const build of this.builds.active()) {
      const limit = build.spec.waitTimeoutSeconds * 1000;
      if (limit <= 0) continue;
      // A job waiting out a retry backoff is not waiting for an agent.
      const late = build.jobs.find((j) => j.state === 'queued' && j.attempt === 0 && now - j.queuedAt >= limit);
      if (!late) continue;
      const reason = late.waitingReason ?? waitingReason(late.platform, this.views());
      this.logger.warn({ buildId: build.id, platform: late.platform.toString() }, 'wait timeout');
      this.builds.failBuild(build, new NoAgentError(late.platform.toString(), reason), late.platform.toString());
    }
  }

  private enforceBuildTimeouts(now: number): void {
    for (const build of this.builds.active()) {
      const limit = build.spec.timeoutSeconds * 1000;
      if (limit > 0 && now - build.createdAt >= limit) this.builds.failBuild(build, new BuildTimeoutError(build.id, build.spec.timeoutSeconds));
    }
  }
}
