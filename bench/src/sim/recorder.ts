import type { Assign } from '@archfarm/proto';
import type { SimEvents } from './sim-agent';

/**
 * Collects what the simulated fleet and the submitters see, on one clock (this process's):
 * when each build was sent, when each job's Assign reached its agent, when jobs finished, how builds ended.
 */
export class ScaleRecorder implements SimEvents {
  readonly sentAt = new Map<string, number>();
  /** SubmitBuild round trips, ms. */
  readonly submitMs: number[] = [];
  readonly assigns: Array<{ jobId: string; buildId: string; attempt: number; at: number }> = [];
  /** SubmitBuild sent -> the build published, ms. */
  readonly publishedMs: number[] = [];
  heartbeats = 0;
  private readonly endings = new Map<string, number>();
  private readonly finishedJobs = new Map<string, number>();
  private readonly waiters = new Map<string, { jobs: number; resolve: () => void }>();

  assigned(_agent: string, assign: Assign, at: number): void {
    this.assigns.push({ jobId: assign.jobId, buildId: assign.spec?.buildId ?? '', attempt: assign.attempt, at });
  }

  finished(_agent: string, assign: Assign, _at: number): void {
    const buildId = assign.spec?.buildId ?? '';
    const count = (this.finishedJobs.get(buildId) ?? 0) + 1;
    this.finishedJobs.set(buildId, count);
    const waiter = this.waiters.get(buildId);
    if (waiter && count >= waiter.jobs) {
      this.waiters.delete(buildId);
      waiter.resolve();
    }
  }

  heartbeat(): void {
    this.heartbeats += 1;
  }

  /** Resolves once `jobs` jobs of the build have finished (they may have finished already). */
  allFinished(buildId: string, jobs: number): Promise<void> {
    if ((this.finishedJobs.get(buildId) ?? 0) >= jobs) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(buildId, { jobs, resolve }));
  }

  /** A build ended in `state` (published, failed, ...) `ms` after it was sent. */
  ended(state: string, ms: number): void {
    this.endings.set(state, (this.endings.get(state) ?? 0) + 1);
    if (state === 'published') this.publishedMs.push(ms);
  }

  /** How the builds ended: `checked` is the number submitted, `other` counts the ones not published by how they ended. */
  outcomes(submitted: number): { checked: number; published: number; other: Record<string, number> } {
    const other: Record<string, number> = {};
    for (const [state, n] of this.endings) if (state !== 'published') other[state] = n;
    return { checked: submitted, published: this.endings.get('published') ?? 0, other };
  }

  /** Submit sent -> Assign received, per first attempt, in ms. */
  queuedToAssigned(): number[] {
    return this.assigns.flatMap((a) => {
      const sent = this.sentAt.get(a.buildId);
      return a.attempt === 1 && sent !== undefined ? [a.at - sent] : [];
    });
  }

  /** Assigns per whole second since `from` (for the chart). */
  perSecond(from: number): number[] {
    const buckets: number[] = [];
    for (const a of this.assigns) {
      const i = Math.max(0, Math.floor((a.at - from) / 1000));
      while (buckets.length <= i) buckets.push(0);
      buckets[i]! += 1;
    }
    return buckets;
  }
}
