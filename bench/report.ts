import { chartSpecs, fmt, renderSvg } from "./charts.js";
import type { RowResult } from "./row.js";
import type { BenchResults } from "./run.js";

/**
 * The Markdown report of one bench run and its SVG charts (`bench/charts.ts`: vega-lite specs
 * rendered by vega). `name` prefixes the chart files: `<name>-throughput.svg`, `<name>-<row id>.svg`.
 */
export async function renderReport(
  results: BenchResults,
  name = results.name,
): Promise<{ markdown: string; charts: Record<string, string> }> {
  const charts: Record<string, string> = {};
  for (const [suffix, spec] of Object.entries(chartSpecs(results.rows))) charts[`${name}-${suffix}.svg`] = await renderSvg(spec);

  const m = results.machine;
  const lines = [
    `# kiln bench, ${results.date}`,
    "",
    `\`${results.command}\` at commit ${m.commit} on ${m.cpus} CPUs (${m.cpuModel}), ${m.platform}, node ${m.node}, ` +
      `redis-server ${m.redis}. Each row runs kiln and its baseline one after the other on the same redis-server; ` +
      `ratios matter, absolute figures depend on the machine.`,
    "",
    "| row | kiln | baseline | ratio | goal | met |",
    "|---|---|---|---|---|---|",
    ...results.rows.map(tableLine),
    ...Object.entries(results.errors).map(([id, message]) => `| ${id} | failed: ${escape(message)} | | | | no |`),
    "",
    ...Object.keys(charts).map((name) => `![${name}](${name})\n`),
    "## Context of each row",
    "",
    ...results.rows.flatMap((r) => [`### ${r.id}: ${r.title}`, "", ...Object.entries(r.context).map(([k, v]) => `- ${k}: ${v}`), ""]),
  ];
  return { markdown: `${lines.join("\n")}\n`, charts };
}

function tableLine(r: RowResult): string {
  const kiln = `${fmt(r.kiln.value)} ${r.kiln.unit}`;
  const base = r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit}: ${r.baseline.name}` : "—";
  const ratio = r.ratio === undefined ? "—" : fmt(r.ratio);
  return `| ${escape(r.title)} | ${kiln} | ${escape(base)} | ${ratio} | ${escape(r.goal)} | ${r.met ? "yes" : "**no**"} |`;
}

const escape = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
