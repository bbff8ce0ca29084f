import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { RowResult } from "./row.js";
import { textWidth } from "./text-width.js";

/**
 * The bench report's charts as vega-lite specs, rendered to SVG by vega (no browser, no canvas).
 * Each chart answers one question and each panel of it has one unit: every quantitative axis is
 * titled "quantity (unit)", and figures in different units never share an axis.
 * - `throughput`, `memory`, `latency`, `share`, `other`: kiln against its baseline of the same
 *   run, one panel per row (its own scale), the ratio in the panel's subtitle;
 * - `<row id>`: a row's own figures: its `series` as points (joined only when the row says the
 *   x axis is ordered) and its `bars`, one panel per quantity.
 */

export type ComparisonKind = "throughput" | "memory" | "latency" | "cpu" | "share" | "other";

/** A chart's file suffix (a comparison kind or a row id) → its vega-lite spec. */
export function chartSpecs(rows: RowResult[]): Record<string, TopLevelSpec> {
  const specs: Record<string, TopLevelSpec> = {};
  for (const kind of KINDS) {
    const compared = rows.filter((r) => r.baseline && r.baseline.unit === r.kiln.unit && kindOf(r.kiln.unit) === kind);
    if (compared.length) specs[kind] = page(COMPARISON_TITLES[kind], compared.map(comparisonPanel), ["kiln", "baseline"]);
  }
  for (const r of rows) {
    const panels = [...(hasSeries(r) ? [seriesPanel(r)] : []), ...(r.bars ?? []).map(barsPanel)];
    const labels = (r.bars ?? []).flatMap((b) => Object.keys(b.values));
    if (panels.length) specs[r.id] = page(r.title, panels, labels);
  }
  return specs;
}

/** The SVG of a vega-lite spec; its size includes every title, label and legend (vega's `pad` autosize). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega-scenegraph's textMetrics, re-exported by vega but not in its typings: the hook vega
  // documents for a measure of one's own when there is no canvas
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item, text) =>
    textWidth(typeof text === "string" || typeof text === "number" ? `${text}`.trim() : "", item.fontSize ?? 11, isBold(item.fontWeight));
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}
const isBold = (weight: TextItem["fontWeight"]) => weight === "bold" || weight === "bolder" || Number(weight) >= 600;

/** "s p99" → { unit: "s", qualifier: "p99" }: the unit is the first word, the rest says which figure. */
export function splitUnit(unit: string): { unit: string; qualifier: string } {
  const [first = "", ...rest] = unit.trim().split(/\s+/);
  return { unit: first, qualifier: rest.join(" ") };
}

export function kindOf(unit: string): ComparisonKind {
  const { unit: u, qualifier } = splitUnit(unit);
  // "ms CPU per job": a time, but of CPU used, not waited
  if (/^(ns|µs|ms|s)$/.test(u) && /^CPU\b/.test(qualifier)) return "cpu";
  if (/\/(s|min|h)$/.test(u)) return "throughput";
  if (/^([KMGT]i?B|B)$/.test(u)) return "memory";
  if (/^(ns|µs|ms|s|min)$/.test(u)) return "latency";
  if (u === "%") return "share";
  return "other";
}

const KINDS: ComparisonKind[] = ["throughput", "memory", "latency", "cpu", "share", "other"];
const COMPARISON_TITLES: Record<ComparisonKind, string> = {
  throughput: "Throughput: kiln against its baseline (same run, same Redis)",
  memory: "Memory: kiln against its baseline (same run)",
  latency: "Latency: kiln against its baseline (same run)",
  cpu: "CPU: kiln against its baseline (same run)",
  share: "Shares: kiln against its baseline (same run)",
  other: "Other figures: kiln against its baseline (same run)",
};
const QUANTITY: Record<ComparisonKind, string> = {
  throughput: "rate",
  memory: "memory",
  latency: "time",
  cpu: "CPU time",
  share: "share",
  other: "figure",
};
const BETTER: Partial<Record<ComparisonKind, string>> = {
  throughput: "higher is better",
  memory: "lower is better",
  latency: "lower is better",
  cpu: "lower is better",
};

const KILN_COLOUR = "#d9480f";
const BASE_COLOUR = "#868e96";
const PALETTE = [KILN_COLOUR, "#1971c2", "#2f9e44", BASE_COLOUR, "#9c36b5", "#e67700"];
const PLOT_WIDTH = 440;
const LABEL_FONT_SIZE = 11;
const FEW_POINTS = 12;
/** Room for long labels and titles: nothing is cut, the SVG grows instead. */
const NO_CUT = 2000;

/**
 * Panels stacked under one title, each with its own scales and axes. Every y axis is as wide as
 * the widest of `labels`, so the panels' plots and titles line up.
 */
function page(title: string, panels: object[], labels: string[]): TopLevelSpec {
  const labelWidth = Math.max(0, ...labels.map((l) => textWidth(l, LABEL_FONT_SIZE)));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 15, limit: NO_CUT },
    vconcat: panels,
    spacing: 28,
    resolve: { scale: { x: "independent", y: "independent", color: "independent" } },
    background: "white",
    padding: 12,
    config: {
      font: "sans-serif",
      axis: { labelLimit: NO_CUT, titleLimit: NO_CUT, labelFontSize: LABEL_FONT_SIZE, titleFontSize: 12 },
      // tick (5) and padding (2) besides the labels
      axisY: { minExtent: labelWidth + 8 },
      legend: { labelLimit: NO_CUT, titleLimit: NO_CUT, labelFontSize: 11 },
      title: { subtitleFontSize: 11, subtitleColor: "#495057" },
      view: { stroke: null },
    },
  } as TopLevelSpec;
}

/** A quantitative axis: "quantity (unit)". */
const axisTitle = (quantity: string, unit: string) => `${quantity} (${unit})`;

/** kiln's bar and the baseline's, on the row's own scale, values at the bars' ends. */
function comparisonPanel(r: RowResult): object {
  const baseline = r.baseline!;
  const { unit, qualifier } = splitUnit(r.kiln.unit);
  const kind = kindOf(r.kiln.unit);
  // "ms CPU per job" → "CPU time per job (ms)"
  const quantity = [QUANTITY[kind], kind === "cpu" ? qualifier.replace(/^CPU\s*/, "") : qualifier].filter(Boolean).join(" ");
  const values = [
    { who: "kiln", value: r.kiln.value, unit: r.kiln.unit, label: `${fmt(r.kiln.value)} ${r.kiln.unit}` },
    { who: "baseline", value: baseline.value, unit: baseline.unit, label: `${fmt(baseline.value)} ${baseline.unit}` },
  ];
  const subtitle = [`baseline: ${baseline.name}`, `${ratioText(r)}${BETTER[kind] ? `; ${BETTER[kind]}` : ""}`];
  return barPanel(r.title, subtitle, values, axisTitle(quantity, unit), { kiln: KILN_COLOUR, baseline: BASE_COLOUR });
}

/** "kiln ÷ baseline = 0.27" when the row's ratio is that quotient, else the row's own ratio. */
function ratioText(r: RowResult): string {
  const quotient = r.baseline && r.baseline.value !== 0 ? r.kiln.value / r.baseline.value : undefined;
  const ratio = r.ratio ?? quotient;
  if (ratio === undefined) return "no ratio (baseline is 0)";
  // rows round their ratio (to 3 decimals, say): a quotient within that is the quotient
  const isQuotient = quotient !== undefined && Math.abs(ratio - quotient) <= Math.max(0.01 * Math.abs(quotient), 0.0006);
  return `${isQuotient ? "kiln ÷ baseline" : "ratio"} = ${fmt(ratio)}`;
}

/** One quantity of a row by category (e.g. throughput of kiln, the plain copy, a file copy). */
function barsPanel(bars: NonNullable<RowResult["bars"]>[number]): object {
  const { unit } = parseAxis(bars.axis);
  const values = Object.entries(bars.values).map(([who, value]) => ({ who, value, unit, label: `${fmt(value)} ${unit}` }));
  const colours = Object.fromEntries(values.map((v, i) => [v.who, i === 0 ? KILN_COLOUR : BASE_COLOUR]));
  return barPanel(bars.axis.replace(/\s*\([^()]*\)$/, ""), [], values, bars.axis, colours);
}

function barPanel(title: string, subtitle: string[], values: object[], xTitle: string, colours: Record<string, string>): object {
  const y = { field: "who", type: "nominal", sort: null, title: null };
  const x = { field: "value", type: "quantitative", title: xTitle, scale: { zero: true } };
  return {
    title: { text: title, subtitle, anchor: "start", fontSize: 13, limit: NO_CUT, subtitleLimit: NO_CUT } as object,
    width: PLOT_WIDTH,
    height: { step: 26 },
    data: { values },
    layer: [
      {
        mark: { type: "bar", height: { band: 0.7 } },
        encoding: {
          y,
          x,
          color: { field: "who", type: "nominal", scale: { domain: Object.keys(colours), range: Object.values(colours) }, legend: null },
        },
      },
      { mark: { type: "text", align: "left", dx: 4, fontSize: 11 }, encoding: { y, x, text: { field: "label" } } },
    ],
  };
}

const hasSeries = (r: RowResult) => Object.values(r.series ?? {}).some((points) => points.length > 0);

/** Every series of the row on one pair of axes: points, joined by a line only on an ordered x axis. */
function seriesPanel(r: RowResult): object {
  const axes = r.seriesAxes ?? { x: "x", y: "y" };
  const names = Object.keys(r.series!);
  // the first series (kiln's, by convention) drawn last, on top of the others
  const values = Object.entries(r.series!)
    .reverse()
    .flatMap(([series, points]) =>
      points.map(([x, y]) => ({ series, x, y, xUnit: parseAxis(axes.x).unit, yUnit: parseAxis(axes.y).unit })),
    );
  const integerX = values.every((v) => Number.isInteger(v.x));
  const few = values.length <= FEW_POINTS;
  const encoding = {
    x: {
      field: "x",
      type: "quantitative",
      title: axes.x,
      // a few points: the first and last drawn whole, not halved by the plot's edge
      ...(few ? { scale: { padding: 10 } } : {}),
      ...(integerX ? { axis: { tickMinStep: 1, format: "d" } } : {}),
    },
    y: { field: "y", type: "quantitative", title: axes.y },
    color: {
      field: "series",
      type: "nominal",
      title: null,
      scale: { domain: names, range: PALETTE },
      // one series needs no legend: the axes say what it is
      legend: names.length > 1 ? { orient: "bottom", direction: "vertical" } : null,
    },
  };
  const point = { mark: { type: "point", filled: true, size: 36, opacity: 0.75 }, encoding };
  const line = { mark: { type: "line", strokeWidth: 2 }, encoding: { ...encoding, order: { field: "x" } } };
  // a few points are read one by one: each carries its value
  const label = { mark: { type: "text", dy: -10, fontSize: 11 }, encoding: { x: encoding.x, y: encoding.y, text: { field: "label" } } };
  const layer = [...(axes.joined ? [line] : []), point, ...(few ? [label] : [])];
  return { width: PLOT_WIDTH, height: 280, data: { values: values.map((v) => ({ ...v, label: fmt(v.y) })) }, layer };
}

/** "detection delay (s)" → { quantity: "detection delay", unit: "s" }; no parentheses, no unit. */
export function parseAxis(title: string): { quantity: string; unit: string } {
  const m = /^(.*?)\s*\(([^()]+)\)$/.exec(title);
  return m ? { quantity: m[1]!, unit: m[2]! } : { quantity: title, unit: "" };
}

export const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000));
