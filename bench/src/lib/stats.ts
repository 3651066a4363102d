/** Order statistics of a sample; every figure a benchmark prints goes through here. */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The p-th percentile (0..100) by linear interpolation between the closest ranks (the
 * "type 7" rule of R and NumPy), so the median of an even-sized sample is the mean of the
 * two middle values. Throws on an empty sample rather than inventing a number.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summary of an empty sample');
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { n: values.length, min, p50: percentile(values, 50), p99: percentile(values, 99), max, mean: sum / values.length };
}

/** Events per second over the span from the first to the last timestamp (ms); 0 for fewer than two. */
export function ratePerSecond(timestampsMs: readonly number[]): number {
  if (timestampsMs.length < 2) return 0;
  let first = Infinity;
  let last = -Infinity;
  for (const t of timestampsMs) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return last > first ? ((timestampsMs.length - 1) * 1000) / (last - first) : 0;
}

/** Each value replaced by the mean of it and the `window - 1` before it (fewer at the start). */
export function trailingMean(series: readonly number[], window: number): number[] {
  let sum = 0;
  return series.map((v, i) => {
    sum += v - (i >= window ? series[i - window]! : 0);
    return sum / Math.min(i + 1, window);
  });
}
