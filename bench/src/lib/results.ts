import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { commitOf } from './machine';
import { renderText, type Table } from './table';

/** bench/ (this file is bench/dist/lib/results.js once compiled). */
export const BENCH_DIR = resolve(__dirname, '..', '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** What one benchmark writes to bench/results/<name>.json; RESULTS.md is made from these alone. */
export interface BenchResult {
  /** File name and order key: e2e, scale, failover, context, logs, footprint. */
  name: string;
  title: string;
  /** ISO time the benchmark started. */
  startedAt: string;
  durationMs: number;
  /** Settings it ran with (knobs and flags), so a quick run is never mistaken for a full one. */
  settings: Record<string, string | number | boolean>;
  /** True when any knob differs from what `make bench` uses. */
  reduced: boolean;
  table: Table;
  /** How it was measured and what is simulated or emulated, in sentences. */
  notes: string[];
  /** Raw figures for charts and later comparison. */
  data: Record<string, unknown>;
  /** 1, 5 and 15 minute load averages when it ended (set by publishResult): a busy machine shows here. */
  loadAverage?: number[];
  /** The commit it ran at (set by publishResult), so a report made later still names it. */
  commit?: string;
}

/** Prints the table (stdout) and writes the JSON. */
export async function publishResult(result: BenchResult): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  result.loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
  result.commit = await commitOf(resolve(BENCH_DIR, '..'));
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  const flag = result.reduced ? ' (REDUCED SETTINGS: not the full benchmark)' : '';
  process.stdout.write(`\n== ${result.title}${flag} ==\n${renderText(result.table)}\n`);
  for (const note of result.notes) process.stdout.write(`  * ${note}\n`);
  process.stdout.write(`  (${(result.durationMs / 1000).toFixed(1)} s; ${file})\n`);
  return file;
}

/** Every result in bench/results, in the order of `order` (unknown names last). */
export async function loadResults(order: readonly string[]): Promise<BenchResult[]> {
  const files = (await readdir(RESULTS_DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  const results = await Promise.all(files.map(async (f) => JSON.parse(await readFile(join(RESULTS_DIR, f), 'utf8')) as BenchResult));
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return results.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}
