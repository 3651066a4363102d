import type { Logger } from '@archfarm/common';
import { NoAgentError } from '../errors';
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
    this.timer = setInterval(() => this.enforceWaitTimeouts(), 1000);
    this.timer.unref();
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
        if (job.state !== 'queued') continue;
        const views = this.views();
        const placement = pickAgent(job.platform, views, job.failedOn);
        const agent = placement && this.fleet.get(placement.agent);
        if (placement && agent) {
          this.builds.assign(job, agent, placement.mode);
        } else {
          this.builds.emitWaiting(job, waitingReason(job.platform, views));
        }
      }
    }
  }

  private views(): AgentView[] {
    return this.fleet.list().map((a) => ({ name: a.name, platforms: a.platforms, slots: a.slots, busy: a.jobs.size }));
  }

  private enforceWaitTimeouts(): void {
    const now = Date.now();
    for (const build of this.builds.active()) {
      const limit = build.spec.waitTimeoutSeconds * 1000;
      if (limit <= 0) continue;
      const late = build.jobs.find((j) => j.state === 'queued' && now - j.queuedAt >= limit);
      if (!late) continue;
      const reason = late.waitingReason ?? waitingReason(late.platform, this.views());
      this.logger.warn({ buildId: build.id, platform: late.platform.toString() }, 'wait timeout');
      this.builds.failBuild(build, new NoAgentError(late.platform.toString(), reason), late.platform.toString());
    }
  }
}
