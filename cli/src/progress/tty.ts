import type { BuildEvent } from '@archfarm/proto';
import type { TextSink } from '../io';
import { noteLine, type ReattachNote } from '../reattach';
import { failedStepBlock, initialLive, liveEvent, liveFrame, liveLines, summaryFrame, withQuestion, type LiveState } from './live-view';
import { TAIL_LINES } from './log-book';
import { contextLine, failureBlock } from './plain';
import type { ContextNote, LogSource, ProgressRenderer } from './renderer';
import { terminalSafe } from './terminal-safe';

/** What the renderer reads from its surroundings; the real terminal outside tests. */
export interface Screen {
  /** The terminal's width now. */
  columns(): number;
  /** Its height now (Infinity when unknown). */
  rows(): number;
  /** This machine's clock, ms. */
  now(): number;
}

/** How often the live lines are redrawn (elapsed times move; log bursts are drawn at this rate, not per line). */
export const REDRAW_MS = 200;

// Plain ANSI, as log-update does it: move up over the last frame, erase to the end of the screen.
const up = (n: number) => (n > 0 ? `\u001b[${n}A` : '');
const ERASE_DOWN = '\r\u001b[J';

/**
 * --progress tty: one line per platform redrawn in place (agent, mode, step n/m, cached
 * steps, elapsed), lines that stay (context, notes, a failed step's output) printed above it,
 * and a summary table once the build ends. Decisions are in ./live-view; this class only
 * keeps the state, the timer and the cursor.
 */
export class TtyRenderer implements ProgressRenderer {
  private state: LiveState = initialLive([]);
  /** Rows of the live frame now on screen (the cursor is on the row under them). */
  private drawn = 0;
  private live = false;
  /** No frame until the first event: `build --detach` returns before any, and leaves no frame. */
  private seen = false;
  private timer: NodeJS.Timeout | undefined;
  /** Per platform, the current attempt's last lines, for a failed step's output. */
  private readonly tails = new Map<string, string[]>();
  private readonly failureShown = new Set<string>();

  constructor(
    private readonly out: TextSink,
    private readonly screen: Screen,
    private readonly redrawMs = REDRAW_MS,
  ) {}

  context(note: ContextNote): void {
    this.print([contextLine(note)]);
  }

  submitted(buildId: string, platforms: readonly string[]): void {
    this.print([`build ${buildId}: ${platforms.join(', ')}`]);
    this.state = initialLive(platforms);
    this.live = true;
    if (this.redrawMs > 0) this.timer = setInterval(() => this.redraw(), this.redrawMs).unref();
    this.redraw();
  }

  event(event: BuildEvent): void {
    this.seen = true;
    const before = this.state;
    this.state = liveEvent(this.state, event, this.screen.now());
    const e = event.event;
    if (e?.$case === 'log') {
      const was = before.platforms.find((p) => p.platform === e.value.platform);
      if (was && was.attempt !== 0 && was.attempt !== e.value.attempt) this.tails.delete(e.value.platform);
    } else if (e?.$case === 'job' && e.value.error?.kind === 'build') {
      // The Dockerfile failed (never retried): its step's output now, not only at the end.
      const p = this.state.platforms.find((x) => x.platform === e.value.platform);
      const block = p ? failedStepBlock(p, this.tails.get(p.platform) ?? []) : [];
      if (block.length > 0) this.failureShown.add(e.value.platform);
      this.print(block);
    } else if (e?.$case === 'finished') {
      this.end();
    }
  }

  lines(source: LogSource, lines: readonly string[]): void {
    this.state = liveLines(this.state, source.platform, lines);
    const tail = [...(this.tails.get(source.platform) ?? []), ...lines].slice(-TAIL_LINES);
    this.tails.set(source.platform, tail);
  }

  cancelling(buildId: string): void {
    this.print([`cancelling build ${buildId}…`]);
  }

  reattach(note: ReattachNote): void {
    this.print([noteLine(note)]);
  }

  failureLog(source: LogSource, lines: readonly string[]): void {
    if (this.failureShown.has(source.platform)) return;
    this.print(failureBlock(source, lines));
  }

  ask(question: string | undefined): void {
    // A question is shown even before the first event: someone is waiting to answer it.
    if (question !== undefined) this.seen = true;
    this.state = withQuestion(this.state, question);
    this.redraw();
  }

  close(): void {
    if (!this.live) return;
    this.state = withQuestion(this.state, undefined);
    this.redraw();
    this.stop();
  }

  /** Draws the live frame over the last one. */
  redraw(): void {
    if (!this.live || !this.seen) return;
    const frame = liveFrame(this.state, this.screen.now(), this.screen.columns(), this.screen.rows());
    this.out.write(up(this.drawn) + ERASE_DOWN + frame.map((l) => `${l}\n`).join(''));
    this.drawn = frame.length;
  }

  /** Lines that stay: printed where the live frame was, which is drawn again under them. */
  private print(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const text = lines.map((l) => `${terminalSafe(l)}\n`).join('');
    if (!this.live) {
      this.out.write(text);
      return;
    }
    this.out.write(up(this.drawn) + ERASE_DOWN + text);
    this.drawn = 0;
    this.redraw();
  }

  /** The build ended: the live frame gives way to the summary table. */
  private end(): void {
    if (!this.live) return;
    const summary = summaryFrame(this.state, this.screen.columns());
    this.out.write(up(this.drawn) + ERASE_DOWN + summary.map((l) => `${l}\n`).join(''));
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.live = false;
    this.drawn = 0;
  }
}
