import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chartSpecs, parseAxis, renderSvg, splitUnit } from "../../bench/charts.js";
import { renderReport } from "../../bench/report.js";
import type { RowResult } from "../../bench/row.js";
import type { BenchResults } from "../../bench/run.js";
import { textWidth } from "../../bench/text-width.js";

const RESULTS_DIR = new URL("../../bench/results/", import.meta.url);

function row(id: string, unit: string, kiln: number, baseline?: { value: number; unit?: string; name: string }): RowResult {
  return {
    id,
    title: `${id}: a row title long enough to be cut by a default label limit of 180 pixels, which it must not be`,
    kiln: { value: kiln, unit },
    ...(baseline ? { baseline: { unit, ...baseline } } : {}),
    goal: "report only",
    met: true,
    context: {},
  };
}

/** Rows in every unit kind, a series row, a bars row and a row whose baseline is in another unit. */
const ROWS: RowResult[] = [
  row("visits", "visits/s", 1937.3, { value: 7233.6, name: "bare BullMQ delayed re-polls (moveToDelayed, no work)" }),
  row("lifecycle", "jobs/s", 173.6, { value: 4132.2, name: "bare BullMQ no-op jobs" }),
  row("lifecycle-cpu", "ms CPU per job", 2.9, { value: 2.6, name: "handmade pipeline" }),
  row("manifest", "MiB", 174.1, { value: 76.1, name: "reading and parsing the file whole" }),
  row("first-poll", "s p99", 0.969, { value: 2.5, name: "polls queued behind the bulk" }),
  row("detection", "% within max(2 s, 10% of duration)", 99.5, { value: 22.5, name: "fixed 1.5× backoff" }),
  row("mixed", "MiB/s", 58.1, { value: 56.3, unit: "MiB", name: "peak RSS growth, not a rate" }),
  {
    ...row("archive", "MiB/s", 58.1),
    bars: [
      { axis: "archive throughput (MiB/s)", values: { kiln: 58.1, "plain lib-storage copy": 53.2, "undici to a local file": 137.9 } },
      { axis: "peak RSS growth (MiB)", values: { kiln: 56.3, "8 kiln archives at once": 178.2 } },
    ],
  },
  {
    ...row("delays", "%", 99.5),
    series: {
      "adaptive schedule (kiln)": [
        [27.4, 1.1],
        [160.8, 8.7],
        [64.2, 0.8],
      ],
      "fixed 1.5× backoff (baseline)": [
        [27.4, 20.3],
        [160.8, 26.9],
      ],
    },
    seriesAxes: { x: "task duration (s)", y: "detection delay (s)" },
  },
  {
    ...row("cluster", "jobs/s", 132.6),
    series: {
      "ratio to one Redis": [
        [1, 1.021],
        [2, 1.017],
        [3, 1.045],
      ],
    },
    seriesAxes: { x: "partitions (count)", y: "jobs/s ÷ one Redis's jobs/s (ratio)", joined: true },
  },
];

const committed = readdirSync(RESULTS_DIR)
  .filter((f) => f.endsWith(".json"))
  .map((file) => ({ file, results: JSON.parse(readFileSync(new URL(file, RESULTS_DIR), "utf8")) as BenchResults }));

interface Encoding {
  field: string;
  type: string;
  title?: string | null;
}
interface Layer {
  mark: { type: string };
  encoding: Record<string, Encoding>;
}
interface Panel {
  title?: { text: string; subtitle: string[] };
  data: { values: Array<Record<string, string | number | undefined>> };
  layer: Layer[];
}
const panelsOf = (spec: object) => (spec as { vconcat: Panel[] }).vconcat;

/** Every quantitative axis of a panel: its title and the units of the values drawn on it. */
function quantitativeAxes(panel: Panel): Array<{ title: string | null | undefined; units: Set<string> }> {
  const axes = new Map<string, { title: string | null | undefined; units: Set<string> }>();
  for (const layer of panel.layer)
    for (const channel of ["x", "y"]) {
      const e = layer.encoding[channel];
      if (e?.type !== "quantitative") continue;
      const unitField = e.field === "value" ? "unit" : `${e.field}Unit`;
      const units = new Set(panel.data.values.map((v) => String(v[unitField])));
      axes.set(channel, { title: e.title, units });
    }
  return [...axes.values()];
}

/** The text of every <text> and <tspan> of an SVG, entities decoded. */
function svgTexts(svg: string): string[] {
  const decode = (s: string) =>
    s
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;|&apos;/g, "'")
      .replace(/&amp;/g, "&");
  return [...svg.matchAll(/>([^<>]+)<\/(?:text|tspan)>/g)].map((m) => decode(m[1]!));
}

describe("bench chart specs", () => {
  const specs = chartSpecs(ROWS);

  it("compare kiln with its baseline in one chart per kind of unit, and a chart per row with a series or bars", () => {
    expect(Object.keys(specs).sort()).toEqual(["archive", "cluster", "cpu", "delays", "latency", "memory", "share", "throughput"]);
    expect(panelsOf(specs.throughput!).map((p) => p.title?.text)).toEqual([ROWS[0]!.title, ROWS[1]!.title]);
  });

  it("draw CPU used per unit of work apart from latency, on an axis that says it is CPU time", () => {
    const [cpu] = panelsOf(specs.cpu!);
    expect(cpu!.title?.text).toBe(ROWS[2]!.title);
    expect(quantitativeAxes(cpu!).map((a) => a.title)).toEqual(["CPU time per job (ms)"]);
    expect(cpu!.title?.subtitle.join("\n")).toContain("lower is better");
  });

  it("title every quantitative axis 'quantity (unit)', in committed results as in every kind of row", () => {
    const all = [specs, ...committed.map((c) => chartSpecs(c.results.rows))];
    for (const chart of all.flatMap((s) => Object.values(s)))
      for (const panel of panelsOf(chart))
        for (const axis of quantitativeAxes(panel)) expect(axis.title, JSON.stringify(panel.title)).toMatch(/^\S.*\([^()]+\)$/);
  });

  it("never draw two units on one axis: every value's unit is the unit its axis names", () => {
    const all = [specs, ...committed.map((c) => chartSpecs(c.results.rows))];
    for (const chart of all.flatMap((s) => Object.values(s)))
      for (const panel of panelsOf(chart))
        for (const axis of quantitativeAxes(panel)) {
          expect([...axis.units].map((u) => splitUnit(u).unit)).toEqual([parseAxis(axis.title!).unit]);
          expect(axis.units.size).toBe(1);
        }
    // the row whose baseline is in another unit than kiln's figure is in no comparison
    const compared = Object.values(specs).flatMap((s) => panelsOf(s).map((p) => p.title?.text));
    expect(compared).not.toContain(ROWS.find((r) => r.id === "mixed")!.title);
  });

  it("label the ratio kiln ÷ baseline beside the two bars", () => {
    const visits = panelsOf(specs.throughput!)[0]!;
    expect(visits.data.values.map((v) => v.who)).toEqual(["kiln", "baseline"]);
    expect(visits.title?.subtitle.join("\n")).toContain("kiln ÷ baseline = 0.268");
    expect(visits.title?.subtitle.join("\n")).toContain("baseline: bare BullMQ delayed re-polls (moveToDelayed, no work)");
  });

  it("join a series' points by a line only when the row says its x axis is ordered", () => {
    const marks = (id: string) => panelsOf(specs[id]!)[0]!.layer.map((l) => l.mark.type);
    expect(marks("delays")).not.toContain("line");
    expect(marks("cluster")).toContain("line");
  });
});

describe("bench chart SVGs", () => {
  it("render every category, legend entry, title and baseline name in full", async () => {
    const specs = chartSpecs(ROWS);
    for (const [id, spec] of Object.entries(specs)) {
      const texts = svgTexts(await renderSvg(spec));
      const panels = panelsOf(spec);
      const legend = (p: Panel) => [...new Set(p.data.values.flatMap((v) => (v.series ? [String(v.series)] : [])))];
      const expected = [
        (spec as { title: { text: string } }).title.text,
        ...panels.flatMap((p) => [
          ...(p.title ? [p.title.text, ...p.title.subtitle] : []),
          ...p.data.values.flatMap((v) => (v.who ? [String(v.who)] : [])),
          // one series has no legend: its axes say what it is
          ...(legend(p).length > 1 ? legend(p) : []),
        ]),
      ];
      for (const text of expected) expect(texts, `${id}: ${text}`).toContain(text);
      expect(texts.join("\n"), id).not.toContain("…");
    }
  }, 60_000);

  it("are the committed charts: bench/results holds what npm run bench:render draws from its JSON", async () => {
    for (const { file, results } of committed) {
      const name = file.replace(/\.json$/, "");
      const report = await renderReport(results, name);
      const stale = Object.entries({ [`${name}.md`]: report.markdown, ...report.charts }).filter(
        ([out, text]) => readFileSync(new URL(out, RESULTS_DIR), "utf8") !== text,
      );
      expect(
        stale.map(([out]) => out),
        "differ from npm run bench:render's",
      ).toEqual([]);
    }
  }, 60_000);
});

describe("textWidth", () => {
  it("measures by Arial's advance widths with a 15% margin", () => {
    expect(textWidth("i", 100)).toBe(Math.ceil(22 * 1.15));
    expect(textWidth("W", 100)).toBe(Math.ceil(94 * 1.15));
    // the last characters of the table keep their own widths, so the table is aligned to the end
    expect(textWidth("…", 100)).toBe(115);
    expect(textWidth("’", 100)).toBe(Math.ceil(22 * 1.15));
    expect(textWidth("W", 100, true)).toBe(Math.ceil(94 * 1.15));
    expect(textWidth("b", 100, true)).toBeGreaterThan(textWidth("b", 100));
  });
});
