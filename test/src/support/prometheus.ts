import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/**
 * One scrape of a /metrics endpoint, parsed as Prometheus text exposition.
 *
 * parse-prometheus-text-format folds a histogram's series into one sample without labels,
 * `_count` and `_sum` (it handles unlabelled histograms only), so histogram counts are read
 * from a second parse of the same text in which each histogram is declared untyped: its
 * `_bucket`, `_sum` and `_count` lines are then families of their own, labels kept.
 */
export class Scrape {
  private readonly flat: parsePrometheusTextFormat.MetricFamily[];

  private constructor(
    readonly families: parsePrometheusTextFormat.MetricFamily[],
    text: string,
  ) {
    this.flat = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'));
  }

  /** GETs `url` (a /metrics endpoint) and parses it; the parser throws on anything malformed. */
  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url);
    assert.equal(res.status, 200, `GET ${url}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, 'the text exposition content type');
    const text = await res.text();
    return new Scrape(parsePrometheusTextFormat(text), text);
  }

  family(name: string): parsePrometheusTextFormat.MetricFamily {
    const family = this.families.find((f) => f.name === name);
    assert.ok(family, `${name} is exposed (families: ${this.families.map((f) => f.name).join(', ')})`);
    return family;
  }

  /** A counter's or gauge's value for exactly these labels; 0 when the series is absent (never incremented). */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = this.family(name).metrics.find((m) => sameLabels(m.labels ?? {}, labels));
    return sample ? Number(sample.value) : 0;
  }

  /** A histogram's observation count for exactly these labels; 0 when absent. */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.counts(name)[labelKey(labels)] ?? 0;
  }

  /** Every series of a histogram, as "label=value,..." -> count, for readable assertions. */
  counts(name: string): Record<string, number> {
    assert.equal(this.family(name).type, 'HISTOGRAM', `${name} is a histogram`);
    // Series of one histogram interleave (_bucket, _sum, _count, then the next): one `_count` family each.
    const counts = this.flat.filter((f) => f.name === `${name}_count`).flatMap((f) => f.metrics);
    return Object.fromEntries(counts.map((m) => [labelKey(m.labels ?? {}), Number(m.value)]));
  }

  /** Every series of a counter or gauge, as "label=value,..." -> value. */
  values(name: string): Record<string, number> {
    return Object.fromEntries(this.family(name).metrics.map((m) => [labelKey(m.labels ?? {}), Number(m.value)]));
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  return labelKey(a) === labelKey(b);
}

function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}
