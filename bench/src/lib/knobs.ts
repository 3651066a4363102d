/**
 * Benchmark settings. `make bench` runs the numbers; for quick development runs
 * set BENCH_QUICK=1 (every benchmark shrinks) or a single BENCH_<NAME>=value. A result
 * records whether any setting differed from the full run, so RESULTS.md can say so.
 */
export class Knobs {
  readonly quick = process.env.BENCH_QUICK === '1';
  private readonly used: Record<string, number | string> = {};
  private changed = false;

  /** A whole number: BENCH_<name> if set, else the quick or the full value. */
  int(name: string, full: number, quick: number): number {
    const raw = process.env[`BENCH_${name}`];
    let value = this.quick ? quick : full;
    if (raw !== undefined && raw !== '') {
      value = Number(raw);
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`BENCH_${name} must be a number >= 0, got "${raw}"`);
    }
    if (value !== full) this.changed = true;
    this.used[name] = value;
    return value;
  }

  /** A comma-separated list of whole numbers, e.g. BENCH_SCALE_AGENTS=1000,5000. */
  ints(name: string, full: number[], quick: number[]): number[] {
    const raw = process.env[`BENCH_${name}`];
    let value = this.quick ? quick : full;
    if (raw !== undefined && raw !== '') value = raw.split(',').map((s) => Number(s.trim()));
    if (value.some((v) => !Number.isFinite(v) || v < 0)) throw new RangeError(`BENCH_${name} must be numbers >= 0, got "${raw}"`);
    if (value.join(',') !== full.join(',')) this.changed = true;
    this.used[name] = value.join(',');
    return value;
  }

  /** Whether anything differs from the full run. */
  get reduced(): boolean {
    return this.changed;
  }

  settings(): Record<string, number | string> {
    return { ...this.used };
  }
}
