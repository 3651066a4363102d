import type { TextSink } from '../io';
import { noteLine, type ReattachNote } from '../reattach';
import { failureBlock } from './plain';
import { say, type LogSource, type ProgressRenderer } from './renderer';

/**
 * --progress quiet: nothing but the failed platform's last lines (errors come from main) and,
 * as warnings are, a lost coordinator: a build that seems to hang should say why.
 */
export class QuietRenderer implements ProgressRenderer {
  constructor(private readonly out: TextSink) {}

  context(): void {}
  submitted(): void {}
  event(): void {}
  lines(): void {}
  cancelling(): void {}

  reattach(note: ReattachNote): void {
    say(this.out, noteLine(note));
  }

  failureLog(source: LogSource, lines: readonly string[]): void {
    for (const line of failureBlock(source, lines)) say(this.out, line);
  }

  close(): void {}
}
