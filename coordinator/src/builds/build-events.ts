import { modeToWire, type BuildEvent } from '@archfarm/proto';
import { TERMINAL_BUILD_STATES, type Build, type Job } from './build';
import { buildStateToWire, jobStateToWire } from './wire-state';
import { jobLabel, platformJobs } from '../cross-check/pairs';

type Listener = (event: BuildEvent) => void;

/**
 * Every build's event history and its live watchers. A watcher first gets the history (so
 * `archfarm build` after a reconnect, or a second terminal, sees the whole build), then follows.
 * The history holds no log bytes (they are in the log files): a log event is kept as a marker
 * (its data empty) saying where that attempt's output comes between the other events, one per
 * attempt between two other events, so a build's history stays small however much it prints.
 */
export class BuildEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Every event of each build in memory, replayed to each new watcher. */
  private readonly history = new Map<string, BuildEvent[]>();
  /** Per build, the attempts (platform and attempt) with a log marker since the last other event. */
  private readonly marked = new Map<string, Set<string>>();

  /** Replays `build`'s events to `listener`, then follows; returns an unsubscribe. */
  watch(build: Build, listener: Listener): () => void {
    for (const event of this.history.get(build.id) ?? []) listener(event);
    return this.follow(build, listener);
  }

  /** Drops a build's history (it left memory). */
  forget(buildId: string): void {
    this.history.delete(buildId);
    this.marked.delete(buildId);
    this.listeners.delete(buildId);
  }

  /** Live events only. A finished build has none: the listener is not kept. */
  follow(build: Build, listener: Listener): () => void {
    if (TERMINAL_BUILD_STATES.has(build.state)) return () => {};
    let set = this.listeners.get(build.id);
    if (!set) this.listeners.set(build.id, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  job(build: Build, job: Job): void {
    this.emit(build, {
      $case: 'job',
      value: {
        platform: jobLabel(job),
        state: jobStateToWire(job.state),
        agent: job.agent ?? '',
        mode: modeToWire(job.mode ?? 'emulated'),
        digest: job.digest ?? '',
        error: job.error,
        reason: job.state === 'assigned' ? (job.reason ?? '') : '',
      },
    });
  }

  /** `offset`: where `data` starts in the attempt's log file. */
  log(build: Build, job: Job, data: Buffer, offset: number): void {
    this.emit(build, { $case: 'log', value: { platform: jobLabel(job), agent: job.agent ?? '', mode: modeToWire(job.mode ?? 'emulated'), data, attempt: job.attempt, offset } });
  }

  waiting(build: Build, job: Job, reason: string): void {
    this.emit(build, { $case: 'waiting', value: { platform: jobLabel(job), reason } });
  }

  /** The last event of a build; watchers are let go after it. */
  finished(build: Build): void {
    // What was published (or would have been): a check job's image never is.
    const platforms = platformJobs(build).map((j) => ({
      platform: j.platform.toString(),
      digest: j.digest ?? '',
      agent: j.agent ?? '',
      mode: modeToWire(j.mode ?? 'emulated'),
      bases: j.bases ?? [],
    }));
    this.emit(build, {
      $case: 'finished',
      value: {
        state: buildStateToWire(build.state),
        digest: build.digest ?? '',
        tag: build.spec.tag.toString(),
        platforms,
        error: build.error,
        failedPlatform: build.failedPlatform ?? '',
        leftOut: build.state === 'published' ? (build.leftOut ?? []) : [],
        tags: build.spec.tags.map(String),
        mediaType: build.state === 'published' ? (build.indexMediaType ?? '') : '',
        size: build.state === 'published' ? (build.indexSize ?? 0) : 0,
      },
    });
    this.listeners.delete(build.id);
  }

  /** What the history keeps of `event`: itself, an empty-data log marker, or nothing. */
  private marker(buildId: string, event: NonNullable<BuildEvent['event']>): NonNullable<BuildEvent['event']> | undefined {
    let marked = this.marked.get(buildId);
    if (!marked) this.marked.set(buildId, (marked = new Set()));
    if (event.$case !== 'log') {
      marked.clear();
      return event;
    }
    const key = `${event.value.platform}\0${event.value.attempt}`;
    if (marked.has(key)) return undefined;
    marked.add(key);
    return { $case: 'log', value: { ...event.value, data: Buffer.alloc(0) } };
  }

  private emit(build: Build, event: NonNullable<BuildEvent['event']>): void {
    const full: BuildEvent = { buildId: build.id, timeMs: Date.now(), event };
    let events = this.history.get(build.id);
    if (!events) this.history.set(build.id, (events = []));
    const marker = this.marker(build.id, event);
    if (marker) events.push({ ...full, event: marker });
    for (const listener of this.listeners.get(build.id) ?? []) listener(full);
  }
}
