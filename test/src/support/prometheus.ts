import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One scrape of a /metrics endpoint, parsed as Prometheus text exposition. */
export class Scrape {
  private constructor(readonly families: parsePrometheusTextFormat.MetricFamily[]) {}

  /** GETs `url` (a /metrics endpoint) and parses it; the parser throws on anything malformed. */
  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url);
    assert.equal(res.status, 200, `GET ${url}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, 'the text exposition content type');
    return new Scrape(parsePrometheusTextFormat(await res.text()));
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
    const family = this.family(name);
    assert.equal(family.type, 'HISTOGRAM', `${name} is a histogram`);
    const sample = family.metrics.find((m) => sameLabels(m.labels ?? {}, labels));
    return sample ? Number(sample.count) : 0;
  }

  /** Every series of a histogram, as "label=value,..." -> count, for readable assertions. */
  counts(name: string): Record<string, number> {
    return Object.fromEntries(this.family(name).metrics.map((m) => [labelKey(m.labels ?? {}), Number(m.count)]));
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
