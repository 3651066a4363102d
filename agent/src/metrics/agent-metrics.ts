import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModeName } from '@archfarm/proto';

/** What the agent's scrape-time gauges read. */
export interface AgentMetricsSources {
  /** Jobs using a slot now. */
  slotsInUse(): number;
  slots: number;
  /** Welcomed on a live stream to the coordinator. */
  connected(): boolean;
}

/** How an attempt ended here: a result reported (succeeded, failed) or dropped unreported. */
export type AgentJobOutcome = 'succeeded' | 'failed' | 'dropped';

/** Seconds, as the coordinator's archfarm_job_duration_seconds, so the two compare. */
const JOB_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/**
 * The agent's Prometheus metrics (--http-listen), in a Registry of its own. Labels are
 * platform, mode and outcome only: no tag, build argument or token.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'outcome'>;
  private readonly duration: Histogram<'platform' | 'mode'>;

  constructor(sources: AgentMetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.jobs = new Counter({ name: 'archfarm_agent_jobs_total', help: 'Job attempts this agent ended, by outcome (succeeded, failed, dropped).', labelNames: ['outcome'], registers });
    this.duration = new Histogram({ name: 'archfarm_agent_job_duration_seconds', help: 'Successful job attempts on this agent, start to result, by platform and mode.', labelNames: ['platform', 'mode'], buckets: JOB_BUCKETS, registers });
    new Gauge({ name: 'archfarm_agent_slots_in_use', help: 'Job slots running an attempt.', registers, collect() { this.set(sources.slotsInUse()); } });
    new Gauge({ name: 'archfarm_agent_slots', help: 'Job slots of this agent (--slots).', registers, collect() { this.set(sources.slots); } });
    new Gauge({ name: 'archfarm_agent_connected', help: '1 while connected to the coordinator (welcomed on a live stream), else 0.', registers, collect() { this.set(sources.connected() ? 1 : 0); } });
  }

  jobEnded(outcome: AgentJobOutcome, platform: string, mode: ModeName, ms: number): void {
    this.jobs.inc({ outcome });
    if (outcome === 'succeeded') this.duration.observe({ platform, mode }, ms / 1000);
  }

  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
