import { JobState, type BuildEvent, type BuildFinished, type BuildMode, type JobUpdate } from '@archfarm/proto';
import { modeName } from './format';
import { LogBook } from './log-book';
import type { LogSource, ProgressRenderer } from './renderer';

const ENDED = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/**
 * Follows one build's events: feeds the renderer, splits logs into lines and keeps each
 * platform's last lines and current agent, whatever the renderer shows, so a failure can
 * always be reported with its log. A re-attached stream repeats each job's latest state
 * (and its waiting reason): a state or reason the platform already has is passed over, so
 * no renderer shows it twice.
 */
export class BuildMonitor {
  readonly logs = new LogBook();
  private readonly sources = new Map<string, LogSource>();
  private readonly attempts = new Map<string, number>();
  /** Per platform: its last job update, and the waiting reason given since. */
  private readonly lastJob = new Map<string, string>();
  private readonly lastWaiting = new Map<string, string>();

  constructor(private readonly renderer: ProgressRenderer) {}

  /** Handles one event; returns the outcome when it is the `finished` event. */
  handle(event: BuildEvent): BuildFinished | undefined {
    const e = event.event;
    switch (e?.$case) {
      case 'log': {
        this.noteAttempt(e.value.platform, e.value.attempt);
        const source = this.note(e.value.platform, e.value.agent, e.value.mode);
        this.renderer.event(event);
        this.renderer.lines(source, this.logs.append(e.value.platform, e.value.data));
        return undefined;
      }
      case 'job':
        if (!this.isNewJobState(e.value)) return undefined;
        this.note(e.value.platform, e.value.agent, e.value.mode);
        // A job's unfinished last line (often the error itself) belongs before its end.
        if (ENDED.has(e.value.state)) this.flush(e.value.platform);
        this.renderer.event(event);
        return undefined;
      case 'waiting':
        if (this.lastWaiting.get(e.value.platform) === e.value.reason) return undefined;
        this.lastWaiting.set(e.value.platform, e.value.reason);
        this.renderer.event(event);
        return undefined;
      case 'finished':
        for (const platform of this.sources.keys()) this.flush(platform);
        this.renderer.event(event);
        return e.value;
      default:
        this.renderer.event(event);
        return undefined;
    }
  }

  /** The platform's current agent and mode (empty agent when none was seen). */
  source(platform: string): LogSource {
    return this.sources.get(platform) ?? { platform, agent: '', mode: 'emulated' };
  }

  /** Reports the failed platform's last lines through the renderer. */
  reportFailure(platform: string): void {
    this.renderer.failureLog(this.source(platform), this.logs.tail(platform));
  }

  private isNewJobState(job: JobUpdate): boolean {
    const { platform, state, agent, mode, digest, error, reason } = job;
    const key = JSON.stringify([state, agent, mode, digest, error?.code, error?.message, error?.kind, reason]);
    if (this.lastJob.get(platform) === key) return false;
    this.lastJob.set(platform, key);
    this.lastWaiting.delete(platform);
    return true;
  }

  private note(platform: string, agent: string, mode: BuildMode): LogSource {
    const known = this.sources.get(platform);
    // Updates without an agent (queued, waiting) must not erase who ran the last attempt.
    const source = agent ? { platform, agent, mode: modeName(mode) } : (known ?? { platform, agent: '', mode: modeName(mode) });
    this.sources.set(platform, source);
    return source;
  }

  /** A lost attempt often stops mid-line; that line must not be joined to the next attempt's first. */
  private noteAttempt(platform: string, attempt: number): void {
    const previous = this.attempts.get(platform);
    this.attempts.set(platform, attempt);
    if (previous !== undefined && previous !== attempt) this.flush(platform);
  }

  private flush(platform: string): void {
    const line = this.logs.flush(platform);
    if (line !== undefined) this.renderer.lines(this.source(platform), [line]);
  }
}
