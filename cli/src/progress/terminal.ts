import type { ProgressMode, ShownProgress } from './renderer';

/** What a stream is when it is a terminal (process.stderr, process.stdin); tests fake it. */
interface MaybeTerminal {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** True when `stream` is a terminal (a tty.WriteStream or tty.ReadStream). */
export function isTerminal(stream: unknown): boolean {
  return (stream as MaybeTerminal | undefined)?.isTTY === true;
}

/** The terminal's width now (it may be resized mid-build); 80 when it does not say. */
export function columnsOf(stream: unknown): number {
  const columns = (stream as MaybeTerminal | undefined)?.columns;
  return typeof columns === 'number' && columns > 0 ? columns : 80;
}

/**
 * The mode to show: `auto` redraws live lines when stderr is a terminal that can move its
 * cursor, as buildx's auto does, and is plain lines otherwise (a pipe, a CI log, TERM=dumb);
 * `tty` redraws whatever stderr is; the others are what they say.
 */
export function resolveProgress(mode: ProgressMode, stderr: { terminal: boolean; term: string | undefined }): ShownProgress {
  if (mode !== 'auto') return mode;
  return stderr.terminal && stderr.term !== 'dumb' ? 'tty' : 'plain';
}

/** The terminal's height now; Infinity when it does not say (nothing is held back then). */
export function rowsOf(stream: unknown): number {
  const rows = (stream as MaybeTerminal | undefined)?.rows;
  return typeof rows === 'number' && rows > 0 ? rows : Infinity;
}
