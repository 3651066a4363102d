import type { TextSink } from '../io';
import { failureBlock } from './plain';
import { emit, type LogSource, type ProgressRenderer } from './renderer';

/** --progress quiet: nothing but the failed platform's last lines (errors come from main). */
export class QuietRenderer implements ProgressRenderer {
  constructor(private readonly out: TextSink) {}

  context(): void {}
  submitted(): void {}
  event(): void {}
  lines(): void {}
  cancelling(): void {}

  failureLog(source: LogSource, lines: readonly string[]): void {
    for (const line of failureBlock(source, lines)) emit(this.out, line);
  }
}
