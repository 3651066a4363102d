import type { BuildEvent, ModeName } from '@archfarm/proto';
import type { TextSink } from '../io';
import type { ReattachNote } from '../reattach';
import { terminalSafe } from './terminal-safe';

/**
 * --progress: how a build's progress is shown on stderr. 'auto' is 'tty' when stderr is a
 * terminal, else 'plain' (./terminal resolveProgress).
 */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

/** A mode once 'auto' is decided. */
export type ShownProgress = Exclude<ProgressMode, 'auto'>;

/** Who wrote a log line: the platform's job, the agent running it and how. */
export interface LogSource {
  platform: string;
  /** Empty while no agent is known. */
  agent: string;
  mode: ModeName;
}

/** What the build command tells the user about the context before the build exists. */
export interface ContextNote {
  digest: string;
  size: number;
  /** True when it is being uploaded; false when the coordinator already had it. */
  uploading: boolean;
}

/**
 * Shows a build's progress. The build command calls it in order: context, submitted,
 * then every event (raw) plus the complete log lines it yielded, and finally the failed
 * platform's last lines when the build failed.
 */
export interface ProgressRenderer {
  context(note: ContextNote): void;
  submitted(buildId: string, platforms: readonly string[]): void;
  /** Every event from WatchBuild, as received. */
  event(event: BuildEvent): void;
  /** Complete log lines split out of `log` events (partial lines are held until complete). */
  lines(source: LogSource, lines: readonly string[]): void;
  cancelling(buildId: string): void;
  /** The event stream was lost and is being re-attached, or was re-attached. */
  reattach(note: ReattachNote): void;
  /** The last lines of the platform that failed the build. */
  failureLog(source: LogSource, lines: readonly string[]): void;
  /**
   * Puts a question under the live lines (undefined takes it away). Only a renderer that
   * redraws in place has it: the build asks "cancel or detach?" on Ctrl-C only then.
   */
  ask?(question: string | undefined): void;
  /** The command is done with it: a redrawing renderer draws its last frame and stops. */
  close(): void;
}

/** Writes one line to `sink` as is (JSON lines, already safe: ./terminal-safe). */
export function emit(sink: TextSink, line: string): void {
  sink.write(`${line}\n`);
}

/**
 * Writes one line for people to `sink`, its control characters neutralised: log lines, agent
 * names, reasons and errors all come from others (./terminal-safe).
 */
export function say(sink: TextSink, line: string): void {
  emit(sink, terminalSafe(line));
}
