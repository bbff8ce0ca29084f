import type { Registry } from "prom-client";

/** Series the alert rules may use that no kiln process exports: Prometheus' own `up` for each target. */
const PROMETHEUS_SERIES = new Set(["up"]);

/** The names each prom-client type goes by: its family name (as prose names it) and its sample names. */
const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ["", "_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

/**
 * Every metric name a registry exposes: counters and gauges by their name, histograms and
 * summaries by their family name and their `_bucket` (histograms), `_sum` and `_count` samples.
 */
export async function exposedMetricNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>(PROMETHEUS_SERIES);
  for (const { name, type } of await registry.getMetricsAsJSON()) {
    for (const suffix of SUFFIXES[String(type)] ?? [""]) names.add(name + suffix);
  }
  return names;
}

/**
 * The metric names that the text of a dashboard or a rule file mentions, in queries and prose
 * alike: kiln's (`kiln_*`), the Node.js process metrics (`process_*`, `nodejs_*`) and `up`.
 * Label names and values never start with those prefixes in kiln's files.
 */
function referencedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [name] of text.matchAll(/\b(?:kiln|process|nodejs)_[a-z0-9_]*[a-z0-9]\b/g)) names.add(name);
  for (const [name] of text.matchAll(/\bup\{/g)) names.add(name.slice(0, -1));
  return names;
}

/** The names `text` mentions that `exposed` lacks, sorted. */
export function unknownMetricNames(text: string, exposed: ReadonlySet<string>): string[] {
  return [...referencedMetricNames(text)].filter((name) => !exposed.has(name)).sort();
}
