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
