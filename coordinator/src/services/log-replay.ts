import { modeFromWire, type JobLog, type LogPosition, type ModeName } from '@archfarm/proto';
import type { Build } from '../builds/build';
import { jobLabel, recordLabel } from '../cross-check/pairs';
import type { StoredBuild } from '../store';

/** One attempt whose log a client may be owed. */
export interface AttemptLog {
  jobId: string;
  platform: string;
  attempt: number;
  agent: string;
  mode: ModeName;
}

/**
 * Every attempt of a build, by job (platform order) and attempt number. The store lists the
 * attempts; the build in memory adds a current attempt whose start is not yet written there
 * (store writes are not awaited), so its first bytes are not missed.
 */
export function attemptsOf(stored: StoredBuild, live?: Build): Map<string, AttemptLog[]> {
  const byJob = new Map<string, AttemptLog[]>();
  for (const job of [...stored.jobs].sort((a, b) => a.index - b.index)) {
    const platform = recordLabel(stored.build.spec, job);
    const attempts: AttemptLog[] = stored.attempts
      .filter((a) => a.jobId === job.id)
      .map((a) => ({ jobId: job.id, platform, attempt: a.attempt, agent: a.agent, mode: a.mode }));
    const current = live?.jobs.find((j) => j.id === job.id);
    if (current && current.attempt > 0 && !attempts.some((a) => a.attempt === current.attempt)) {
      attempts.push({ jobId: job.id, platform, attempt: current.attempt, agent: current.agent ?? '', mode: current.mode ?? 'emulated' });
    }
    byJob.set(job.id, attempts.sort((x, y) => x.attempt - y.attempt));
  }
  return byJob;
}

/** The attempt a live log chunk of `build` belongs to; undefined for a platform it lacks. */
export function attemptOfLog(build: Build, log: JobLog): AttemptLog | undefined {
  const job = build.jobs.find((j) => jobLabel(j) === log.platform);
  return job && { jobId: job.id, platform: log.platform, attempt: log.attempt, agent: log.agent, mode: modeFromWire(log.mode) };
}

/**
 * How many bytes of each attempt's log a client holds: what it said it had when it
 * re-attached, then everything sent since. Nothing below that is sent again, from a file
 * or from a live event, so each byte reaches the client once.
 */
export class LogCursor {
  private readonly held = new Map<string, number>();

  constructor(positions: readonly LogPosition[] = []) {
    for (const p of positions) this.advance(p.platform, p.attempt, p.offset);
  }

  /** A live chunk cut to the bytes the client lacks; undefined when it holds them all. */
  live(log: JobLog): JobLog | undefined {
    const have = this.position(log.platform, log.attempt);
    const end = log.offset + log.data.length;
    if (end <= have) return undefined;
    this.advance(log.platform, log.attempt, end);
    return log.offset >= have ? log : { ...log, data: log.data.subarray(have - log.offset), offset: have };
  }

  position(platform: string, attempt: number): number {
    return this.held.get(`${platform}\0${attempt}`) ?? 0;
  }

  advance(platform: string, attempt: number, to: number): void {
    const key = `${platform}\0${attempt}`;
    this.held.set(key, Math.max(this.held.get(key) ?? 0, to));
  }
}
