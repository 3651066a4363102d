/** A benchmark's table: header and rows of already formatted cells. */
export interface Table {
  columns: string[];
  rows: string[][];
}

/** Right-aligns cells that read as numbers, left-aligns the rest; columns as wide as their widest cell. */
export function renderText(table: Table): string {
  checkShape(table);
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => r[i]!.length)));
  const numeric = table.columns.map((_, i) => table.rows.length > 0 && table.rows.every((r) => looksNumeric(r[i]!)));
  const line = (cells: string[]) => cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

/** The same table as GitHub-flavoured Markdown (pipes in cells escaped). */
export function renderMarkdown(table: Table): string {
  checkShape(table);
  const numeric = table.columns.map((_, i) => table.rows.length > 0 && table.rows.every((r) => looksNumeric(r[i]!)));
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [row(table.columns), `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`, ...table.rows.map(row)].join('\n');
}

/** "1 234.5 ms"-free formatting: a fixed number of decimals that shrinks as values grow. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toFixed(digits);
}

/** Milliseconds as "850 ms", "12.3 s" or "2 min 05 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (Math.abs(ms) < 1000) return `${formatNumber(ms)} ms`;
  if (Math.abs(ms) < 120_000) return `${formatNumber(ms / 1000)} s`;
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
}

/** Bytes as MiB. */
export function formatMiB(bytes: number): string {
  return `${formatNumber(bytes / 1024 / 1024)} MiB`;
}

function looksNumeric(cell: string): boolean {
  return /^[-+]?[\d.]+(\s?(ms|s|min|%|x|MiB|MB\/s|\/s))?$/.test(cell.trim()) || cell.trim() === '';
}

function checkShape(table: Table): void {
  const bad = table.rows.findIndex((r) => r.length !== table.columns.length);
  if (bad >= 0) throw new RangeError(`row ${bad} has ${table.rows[bad]!.length} cells for ${table.columns.length} columns`);
}
