/** Space between two columns. */
const GAP = 3;
/** A shrunk column keeps at least this many characters (or its header, if longer). */
const MIN_SHRUNK = 8;
const ELLIPSIS = '…';

/** How a table fits a terminal: its width and the free-text columns that may be cut to fit. */
export interface TableFit {
  /** Columns of the terminal; undefined (a pipe, a file) keeps every cell whole. */
  width: number | undefined;
  /** Indexes of the columns that may be shortened with an ellipsis; ids and times never are. */
  shrink: readonly number[];
}

/**
 * Rows as aligned text: each column padded to its widest cell, three spaces apart, no
 * trailing spaces. The first row is the header. Empty cells should be '-' so a table
 * still splits into the same columns with awk. With `fit`, the widest shrinkable column
 * loses a character at a time until the table fits; cut cells end in '…'.
 */
export function formatTable(rows: readonly (readonly string[])[], indent = '', fit?: TableFit): string[] {
  const header = rows[0];
  if (!header) return [];
  const natural = header.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const widths = fit?.width === undefined ? natural : fitWidths(natural, header, fit.shrink, fit.width - indent.length);
  return rows.map((r) => indent + r.map((cell, col) => clip(cell, widths[col]!).padEnd(widths[col]!)).join(' '.repeat(GAP)).trimEnd());
}

/**
 * Column widths whose total (gaps included) is at most `width`, taking from the widest
 * shrinkable column first and never below its floor; when even the floors do not fit,
 * the floors (the line then wraps, but every column still shows its start).
 */
export function fitWidths(natural: readonly number[], header: readonly string[], shrink: readonly number[], width: number): number[] {
  const widths = [...natural];
  const floor = (col: number): number => Math.min(natural[col]!, Math.max(MIN_SHRUNK, (header[col] ?? '').length));
  let excess = widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1) - width;
  while (excess > 0) {
    const candidates = shrink.filter((col) => widths[col] !== undefined && widths[col]! > floor(col));
    if (candidates.length === 0) break;
    const widest = candidates.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest] = widths[widest]! - 1;
    excess -= 1;
  }
  return widths;
}

function clip(cell: string, width: number): string {
  return cell.length <= width ? cell : cell.slice(0, Math.max(0, width - ELLIPSIS.length)) + ELLIPSIS;
}

/** The terminal's width when `sink` is a terminal (process.stdout on a TTY); undefined for a pipe or a file. */
export function terminalWidth(sink: object): number | undefined {
  const tty = sink as { isTTY?: unknown; columns?: unknown };
  return tty.isTTY === true && typeof tty.columns === 'number' && tty.columns > 0 ? tty.columns : undefined;
}

/** A wire time (ms since the epoch) as ISO 8601 in UTC, or null for 0 ("not yet"). */
export function isoTime(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

/** A wire time for tables: ISO 8601 to the second ("2025-05-01T10:00:03Z"), or '-'. */
export function shortTime(ms: number): string {
  return isoTime(ms)?.replace(/\.\d{3}Z$/, 'Z') ?? '-';
}

/** Labels as `k=v,k=v`, sorted by key; '' when there are none. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * How long before `now` a wire time was, for tables: "now" (under 10 s, or ahead of this
 * clock), "42s ago", "3m ago", "5h ago", "2d ago"; '-' for 0 ("never").
 */
export function timeAgo(ms: number, now: number): string {
  if (ms <= 0) return '-';
  const seconds = Math.floor((now - ms) / 1000);
  if (seconds < 10) return 'now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}
