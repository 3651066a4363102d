import type { Logger } from '@archfarm/common';
import { BuildTimeoutError, NoAgentError, NoEligibleAgentError } from '../errors';
import type { Fleet } from '../fleet';
import { fairOrder } from '../scheduling/fair-order';
import type { DurationHistory } from '../scheduling/history';
import { decide, type Decision, type JobView, type PlacementSettings } from '../scheduling/placement';
import { PlacementPass } from '../scheduling/placement-pass';
import type { Build, Job } from './build';
import type { DispatchSide } from './build-manager';
import { FleetViews } from './fleet-views';
import { partnerOf, placementOf, type Pairing } from '../cross-check/pairs';
import { decidePaired } from '../cross-check/placement';

const TICK_MS = 500;
/** A tick this much later than the last one means the process itself did not run. */
const STALL_MS = 4 * TICK_MS;

/**
 * Places queued jobs on agents with free slots, fairly between builds, and enforces each
 * build's timeouts. Runs whenever the queue or the fleet changes; work is coalesced into one
 * pass per tick so a burst of events costs one scan.
 */
export class Dispatcher {
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = Date.now();
  private readonly views: FleetViews;

  constructor(
    private readonly builds: DispatchSide,
    private readonly fleet: Fleet,
    private readonly history: DurationHistory,
    private readonly settings: PlacementSettings,
    private readonly logger: Logger,
  ) {
    this.views = new FleetViews(fleet, builds.holdings);
    builds.onQueueChanged = () => this.kick();
    fleet.on('changed', () => this.kick());
  }

  start(): void {
    this.lastTick = Date.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
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

  /**
   * What the scheduler would decide for `job` of `build` right now. `planned` adds jobs a
   * plan has already placed (agent name -> count), so --plan predicts a whole build.
   */
  decide(build: Build, job: Pick<Job, 'platform' | 'failedOn' | 'queuedAt'>, now = Date.now(), planned?: ReadonlyMap<string, number>, unlimitedSlots = false, pairing?: Pairing): Decision {
    const views = this.views.all().map((v) => ({ ...v, busy: v.busy + (planned?.get(v.name) ?? 0), slots: unlimitedSlots ? Number.MAX_SAFE_INTEGER : v.slots }));
    const view = jobView(build, job, now);
    return pairing ? decidePaired(view, pairing, views, this.history, this.settings) : decide(view, views, this.history, this.settings);
  }

  /** Time-driven work: leases that ran out, timeouts, retries whose backoff has passed, native waits. */
  private tick(): void {
    const sinceLast = Date.now() - this.lastTick;
    this.lastTick = Date.now();
    // Timers run before the event loop reads its sockets: after a stall, heartbeats that
    // arrived meanwhile are still unread. Decide after the I/O phase (setImmediate), and not
    // at all on the tick that ends a stall of this process, so a lease runs out for an agent
    // that went quiet, never for one the coordinator was too busy to hear.
    setImmediate(() => {
      const now = Date.now();
      if (sinceLast > STALL_MS) this.logger.warn({ stalledMs: sinceLast }, 'coordinator was stalled; leases are checked on the next tick');
      else this.builds.expireLeases(now);
      this.enforceWaitTimeouts(now);
      this.enforceBuildTimeouts(now);
      this.kick();
    });
  }

  private dispatch(): void {
    const now = Date.now();
    const active = this.builds.active();
    const running = new Map(active.map((b) => [b.id, b.jobs.filter((j) => j.state === 'assigned' || j.state === 'running').length]));
    const queued = active.flatMap((build) =>
      build.jobs.flatMap((job, index) => (job.state === 'queued' && (job.notBefore ?? 0) <= now ? [{ buildId: build.id, buildCreatedAt: build.createdAt, index, build, job }] : [])),
    );
    // Nothing queued (agents connecting, jobs finishing): nothing to look at the fleet for.
    if (queued.length === 0) return;
    const pass = new PlacementPass(this.views, this.history, this.settings);
    for (const { build, job } of fairOrder(queued, running)) {
      // Earlier decisions of this pass may have ended the build (no eligible agent).
      if (this.builds.job(job.id)?.state !== 'queued') continue;
      const decision = this.decideQueued(pass, build, job, now);
      if (decision.kind === 'place') {
        if (!this.fleet.get(decision.agent)) continue;
        this.builds.assign(job.id, decision.agent, decision.mode, decision.reason);
      } else if (decision.kind === 'wait') {
        this.builds.emitWaiting(job.id, decision.reason);
      } else {
        this.builds.failBuild(build.id, new NoEligibleAgentError(job.platform.toString(), decision.reason), job.platform.toString());
        pass.slotsFreed();
      }
    }
  }

  /** A cross-check job avoids its platform job's agent (../cross-check/placement); others go through the pass. */
  private decideQueued(pass: PlacementPass, build: Build, job: Job, now: number): Decision {
    const partner = job.check ? partnerOf(build.jobs, job) : undefined;
    if (!partner) return pass.decide(jobView(build, job, now));
    // The partner as it is now, not as the pass's snapshot of the build saw it.
    const fresh = this.builds.job(partner.id) ?? partner;
    const pairing = { platform: job.platform, check: true, partner: placementOf(fresh) };
    const agents = this.views.serving(job.platform.toString()) ?? this.views.all();
    return decidePaired(jobView(build, job, now), pairing, agents, this.history, this.settings);
  }

  private enforceWaitTimeouts(now: number): void {
    for (const build of this.builds.active()) {
      const limit = build.spec.waitTimeoutSeconds * 1000;
      if (limit <= 0) continue;
      // Every wait counts, first attempt or retry, from when the job (re)entered the queue; a
      // job still waiting out its retry backoff is not waiting for an agent yet.
      const late = build.jobs.find((j) => j.state === 'queued' && (j.notBefore ?? 0) <= now && now - j.queuedAt >= limit);
      if (!late) continue;
      const decision = this.decide(build, late, now);
      const reason = late.waitingReason ?? (decision.kind === 'place' ? 'an agent was about to take it' : decision.reason);
      this.logger.warn({ buildId: build.id, platform: late.platform.toString() }, 'wait timeout');
      this.builds.failBuild(build.id, new NoAgentError(late.platform.toString(), reason), late.platform.toString());
    }
  }

  private enforceBuildTimeouts(now: number): void {
    for (const build of this.builds.active()) {
      const limit = build.spec.timeoutSeconds * 1000;
      if (limit > 0 && now - build.createdAt >= limit) this.builds.failBuild(build.id, new BuildTimeoutError(build.id, build.spec.timeoutSeconds));
    }
  }
}

function jobView(build: Build, job: Pick<Job, 'platform' | 'failedOn' | 'queuedAt'>, now: number): JobView {
  return {
    platform: job.platform,
    emulation: build.spec.emulation,
    requireLabels: build.spec.requireLabels,
    repository: build.spec.tag.name,
    crossCompile: build.spec.crossCompile,
    avoid: job.failedOn,
    waitedMs: Math.max(0, now - job.queuedAt),
  };
}
