import { BuildState, JobState, type BuildEvent, type JobUpdate } from '@archfarm/proto';
import type { TextSink } from '../io';
import { noteLine, type ReattachNote } from '../reattach';
import { formatBytes, modeName } from './format';
import { say, type ContextNote, type LogSource, type ProgressRenderer } from './renderer';

/**
 * Plain lines for people: job state changes, waiting reasons (once per reason), and every
 * log line prefixed with `[platform agent mode] ` so interleaved platforms stay readable.
 */
export class PlainRenderer implements ProgressRenderer {
  /** Last state shown per platform, so repeated updates (lease renewals) stay quiet. */
  private readonly shownState = new Map<string, string>();
  private readonly shownReason = new Map<string, string>();

  constructor(private readonly out: TextSink) {}

  context(note: ContextNote): void {
    say(this.out, contextLine(note));
  }

  submitted(buildId: string, platforms: readonly string[]): void {
    say(this.out, `build ${buildId}: ${platforms.join(', ')}`);
  }

  event(event: BuildEvent): void {
    const e = event.event;
    if (e?.$case === 'job') this.job(e.value);
    else if (e?.$case === 'waiting') this.waiting(e.value.platform, e.value.reason);
    else if (e?.$case === 'finished' && e.value.state === BuildState.BUILD_STATE_PUBLISHED) say(this.out, `published ${e.value.tag}`);
  }

  lines(source: LogSource, lines: readonly string[]): void {
    const prefix = `[${[source.platform, source.agent, source.agent ? source.mode : ''].filter(Boolean).join(' ')}] `;
    for (const line of lines) say(this.out, prefix + line);
  }

  cancelling(buildId: string): void {
    say(this.out, `cancelling build ${buildId}…`);
  }

  reattach(note: ReattachNote): void {
    say(this.out, noteLine(note));
  }

  failureLog(source: LogSource, lines: readonly string[]): void {
    for (const line of failureBlock(source, lines)) say(this.out, line);
  }

  close(): void {}

  private job(job: JobUpdate): void {
    const key = `${job.state}|${job.agent}|${job.digest}`;
    if (this.shownState.get(job.platform) === key) return;
    this.shownState.set(job.platform, key);
    // A job that moves on and later waits again for the same reason should say so again.
    this.shownReason.delete(job.platform);
    say(this.out, `[${job.platform}] ${describeJob(job)}`);
  }

  private waiting(platform: string, reason: string): void {
    if (this.shownReason.get(platform) === reason) return;
    this.shownReason.set(platform, reason);
    say(this.out, `[${platform}] waiting: ${reason}`);
  }
}

/** What the context note says to people (plain and tty alike). */
export function contextLine(note: ContextNote): string {
  return note.uploading ? `uploading context ${formatBytes(note.size)}` : `context ${note.digest} already on the coordinator`;
}

/** "assigned to pi-1 (native): <reason>", "pushed sha256:…", ...: what a job update means. */
export function describeJob(job: JobUpdate): string {
  const where = job.agent ? `${job.agent} (${modeName(job.mode)})` : 'an agent';
  switch (job.state) {
    case JobState.JOB_STATE_QUEUED:
      return 'queued';
    case JobState.JOB_STATE_ASSIGNED:
      // The scheduler's reason says why this agent and mode: native first, warm cache, ...
      return `assigned to ${where}${job.reason ? `: ${job.reason}` : ''}`;
    case JobState.JOB_STATE_RUNNING:
      return `building on ${where}`;
    case JobState.JOB_STATE_SUCCEEDED:
      return job.digest ? `pushed ${job.digest}` : 'succeeded';
    case JobState.JOB_STATE_FAILED:
      return `failed${job.agent ? ` on ${job.agent}` : ''}: ${job.error?.message || 'no reason given'}`;
    case JobState.JOB_STATE_CANCELLED:
      return 'cancelled';
    default:
      return `state ${job.state}`;
  }
}

/** The failure report: a header naming platform, agent and mode, then the lines. */
export function failureBlock(source: LogSource, lines: readonly string[]): string[] {
  if (lines.length === 0) return [];
  const where = source.agent ? ` (${source.agent}, ${source.mode})` : '';
  return [`--- last log lines of ${source.platform}${where} ---`, ...lines, '---'];
}
