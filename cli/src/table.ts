/**
 * Rows as aligned text: each column padded to its widest cell, three spaces apart, no
 * trailing spaces. The first row is the header. Empty cells should be '-' so a table
 * still splits into the same columns with awk.
 */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  const header = rows[0];
  if (!header) return [];
  const widths = header.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => indent + r.map((cell, col) => cell.padEnd(widths[col]!)).join('   ').trimEnd());
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
