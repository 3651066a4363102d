// parse-prometheus-text-format ships no types: the shape of what it returns (prom2json's), as far as the tests read it.
declare module 'parse-prometheus-text-format' {
  namespace parsePrometheusTextFormat {
    interface Sample {
      labels?: Record<string, string>;
      /** Counters, gauges, untyped. */
      value?: string;
      /** Histograms: cumulative count by upper bound ("+Inf" included). */
      buckets?: Record<string, string>;
      count?: string;
      sum?: string;
    }
    interface MetricFamily {
      name: string;
      help: string;
      type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
      metrics: Sample[];
    }
  }
  /** Parses Prometheus text exposition; throws on a malformed line. */
  function parsePrometheusTextFormat(text: string): parsePrometheusTextFormat.MetricFamily[];
  export = parsePrometheusTextFormat;
}
