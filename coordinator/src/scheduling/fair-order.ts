/** The fields of a queued job that fair ordering looks at. */
export interface QueuedJob {
  buildId: string;
  buildCreatedAt: number;
  /** The job's position in its build. */
  index: number;
}

/**
 * The order in which queued jobs get free slots: the build with the fewest jobs running
 * first, then the older build, then by job index. Each job put in the order counts as
 * running for its build, so the order takes turns between builds: with 20 queued jobs of an
 * older build and 1 of a newer one, the newer one's job comes second, not twenty-first, and
 * one pass of the dispatcher over the order shares the free slots. Pure and stable: jobs
 * equal on every key keep their input order.
 */
export function fairOrder<T extends QueuedJob>(jobs: readonly T[], runningByBuild: ReadonlyMap<string, number>): T[] {
  const queues = byBuild(jobs);
  const load = new Map([...queues.keys()].map((id) => [id, runningByBuild.get(id) ?? 0]));
  const out: T[] = [];
  while (out.length < jobs.length) {
    const next = nextBuild(queues, load);
    const queue = queues.get(next)!;
    out.push(queue.shift()!);
    if (queue.length === 0) queues.delete(next);
    load.set(next, (load.get(next) ?? 0) + 1);
  }
  return out;
}

/** Each build's jobs by index; the sort is stable, so equal indexes keep their input order. */
function byBuild<T extends QueuedJob>(jobs: readonly T[]): Map<string, T[]> {
  const queues = new Map<string, T[]>();
  for (const job of jobs) {
    const queue = queues.get(job.buildId);
    if (queue) queue.push(job);
    else queues.set(job.buildId, [job]);
  }
  for (const queue of queues.values()) queue.sort((a, b) => a.index - b.index);
  return queues;
}

/** The build whose turn it is: fewest running, then oldest, then by id (builds created in the same millisecond). */
function nextBuild<T extends QueuedJob>(queues: ReadonlyMap<string, T[]>, load: ReadonlyMap<string, number>): string {
  let pick: { id: string; load: number; createdAt: number } | undefined;
  for (const [id, queue] of queues) {
    const candidate = { id, load: load.get(id) ?? 0, createdAt: queue[0]!.buildCreatedAt };
    if (!pick || compare(candidate, pick) < 0) pick = candidate;
  }
  return pick!.id;
}

function compare(a: { id: string; load: number; createdAt: number }, b: { id: string; load: number; createdAt: number }): number {
  return a.load - b.load || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
