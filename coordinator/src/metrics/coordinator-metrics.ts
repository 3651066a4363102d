import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModeName } from '@archfarm/proto';
import type { Build, BuildStateName } from '../builds/build';
import { agentSamples, queueDepth, slotSamples, type AgentSnapshot } from './samples';

/**
 * The events BuildManager reports as it applies the lifecycle's effects. The lifecycle
 * itself stays pure: these are called by the executor, never by transition().
 */
export interface BuildObserver {
  /** An attempt was assigned after the job waited `waitedMs` in the queue (retry backoff included). */
  jobAssigned(platform: string, waitedMs: number): void;
  /** A successful attempt, from assignment to its result. */
  jobSucceeded(platform: string, mode: ModeName, ms: number): void;
  /** An attempt failed for infrastructure reasons and its job went back to the queue. */
  jobRetried(platform: string): void;
  /** An attempt's lease ran out (no heartbeat for --lease-ttl). */
  leaseExpired(): void;
  buildEnded(outcome: BuildStateName): void;
  /** The final merge and index push, from start to end, however it ended. */
  publishEnded(outcome: 'published' | 'failed' | 'stopped', ms: number): void;
}

/** What the scrape-time gauges read: the coordinator's own state, when it has one. */
export interface MetricsSources {
  agents(): Promise<AgentSnapshot[]>;
  /** Builds in memory that are not finished. */
  activeBuilds(): Build[];
}

const NO_SOURCES: MetricsSources = { agents: () => Promise.resolve([]), activeBuilds: () => [] };

/** Seconds: from a few seconds of a cached build to an hour of an emulated compile. */
const JOB_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 900];
const PUBLISH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** A commit is one fsync (group commit): sub-millisecond on SSDs, tens of ms on an SD card. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The coordinator's Prometheus metrics, in a Registry of its own (two coordinators in one
 * test process do not share counters). Labels are platform, mode, state and outcome only:
 * never a tag, build argument, agent name or token (SECURITY.md).
 */
export class CoordinatorMetrics implements BuildObserver {
  readonly registry = new Registry();
  private sources = NO_SOURCES;
  /** One read of the agents per scrape, shared by the gauges that need them (a store query). */
  private agentsRead: Promise<AgentSnapshot[]> | undefined;
  private readonly builds: Counter<'outcome'>;
  private readonly retries: Counter;
  private readonly leaseExpiries: Counter;
  private readonly jobDuration: Histogram<'platform' | 'mode'>;
  private readonly queueWait: Histogram<'platform'>;
  private readonly publish: Histogram<'outcome'>;
  private readonly commit: Histogram;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.builds = new Counter({ name: 'archfarm_builds_total', help: 'Builds that ended, by outcome (published, failed, cancelled).', labelNames: ['outcome'], registers });
    this.retries = new Counter({ name: 'archfarm_job_retries_total', help: 'Job attempts that failed for infrastructure reasons and were queued again.', registers });
    this.leaseExpiries = new Counter({ name: 'archfarm_lease_expiries_total', help: 'Job attempts whose lease ran out without a heartbeat.', registers });
    this.jobDuration = new Histogram({ name: 'archfarm_job_duration_seconds', help: 'Successful job attempts, assignment to result, by platform and mode (native or emulated).', labelNames: ['platform', 'mode'], buckets: JOB_BUCKETS, registers });
    this.queueWait = new Histogram({ name: 'archfarm_queue_wait_seconds', help: 'Time a job waited in the queue before an attempt was assigned, by platform.', labelNames: ['platform'], buckets: WAIT_BUCKETS, registers });
    this.publish = new Histogram({ name: 'archfarm_publish_duration_seconds', help: 'Final merge and index push of a build, by outcome.', labelNames: ['outcome'], buckets: PUBLISH_BUCKETS, registers });
    this.commit = new Histogram({ name: 'archfarm_store_commit_duration_seconds', help: 'Store commits (one per event-loop turn that wrote), including the fsync.', buckets: COMMIT_BUCKETS, registers });
    this.defineGauges();
  }

  /** Gives the scrape-time gauges the coordinator's state; until then they are empty. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  detach(): void {
    this.sources = NO_SOURCES;
  }

  /** The text exposition, for /metrics. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  jobAssigned(platform: string, waitedMs: number): void {
    this.queueWait.observe({ platform }, Math.max(0, waitedMs) / 1000);
  }

  jobSucceeded(platform: string, mode: ModeName, ms: number): void {
    this.jobDuration.observe({ platform, mode }, ms / 1000);
  }

  jobRetried(): void {
    this.retries.inc();
  }

  leaseExpired(): void {
    this.leaseExpiries.inc();
  }

  buildEnded(outcome: BuildStateName): void {
    this.builds.inc({ outcome });
  }

  publishEnded(outcome: 'published' | 'failed' | 'stopped', ms: number): void {
    this.publish.observe({ outcome }, ms / 1000);
  }

  /** The store's commit hook (SqliteStoreOptions.onCommit). */
  storeCommitted(seconds: number): void {
    this.commit.observe(seconds);
  }

  private defineGauges(): void {
    const registers = [this.registry];
    // collect() gets the gauge as `this`: the coordinator's state is reached through this arrow.
    const sources = () => this.sources;
    const agents = () => (this.agentsRead ??= this.sources.agents().finally(() => setImmediate(() => (this.agentsRead = undefined))));
    new Gauge({
      name: 'archfarm_agents',
      help: 'Agents by state (idle, busy, drained, disconnected), per platform and mode they offer.',
      labelNames: ['state', 'platform', 'mode'],
      registers,
      async collect() {
        const samples = agentSamples(await agents());
        this.reset();
        for (const s of samples) this.set({ state: s.state, platform: s.platform, mode: s.mode }, s.count);
      },
    });
    new Gauge({
      name: 'archfarm_slots_in_use',
      help: 'Job slots of connected agents that hold an attempt.',
      registers,
      async collect() {
        this.set(slotSamples(await agents()).inUse);
      },
    });
    new Gauge({
      name: 'archfarm_slots',
      help: 'Job slots of connected agents, in use or free.',
      registers,
      async collect() {
        this.set(slotSamples(await agents()).total);
      },
    });
    new Gauge({
      name: 'archfarm_queue_depth',
      help: 'Jobs waiting for an agent (retry backoff included), by platform.',
      labelNames: ['platform'],
      registers,
      collect() {
        this.reset();
        for (const [platform, n] of queueDepth(sources().activeBuilds())) this.set({ platform }, n);
      },
    });
  }
}

/** For a BuildManager without metrics (unit tests). */
export const NO_OBSERVER: BuildObserver = {
  jobAssigned: () => {},
  jobSucceeded: () => {},
  jobRetried: () => {},
  leaseExpired: () => {},
  buildEnded: () => {},
  publishEnded: () => {},
};
