import type { RowResult } from "./row.js";
import type { BenchResults } from "./run.js";

/**
 * The Markdown report of one bench run and its SVG charts (hand-written SVG: no chart
 * dependency). Charts: kiln against the baseline for throughput rows and memory rows (each
 * pair on its own scale, absolute values written on the bars), and a line chart of every
 * row's `series` (the detection delay row's, for one).
 */
export function renderReport(results: BenchResults): { markdown: string; charts: Record<string, string> } {
  const charts: Record<string, string> = {};
  const throughput = results.rows.filter((r) => r.baseline && isRate(r.kiln.unit));
  const memory = results.rows.filter((r) => isMemory(r.kiln.unit));
  if (throughput.length)
    charts[`${results.name}-throughput.svg`] = barChart("Throughput: kiln against its baseline (same run, same Redis)", throughput);
  if (memory.length) charts[`${results.name}-memory.svg`] = barChart("Memory: kiln against its baseline or goal", memory);
  for (const r of results.rows)
    if (r.series && Object.keys(r.series).length)
      charts[`${results.name}-${r.id}.svg`] = lineChart(r.title, r.series, r.seriesAxes?.x ?? "x", r.seriesAxes?.y ?? "y");

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

const isRate = (unit: string) => /\/(s|min)$/.test(unit);
const isMemory = (unit: string) => /^(MB|MiB)$/.test(unit);
const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : String(Math.round(n * 1000) / 1000));
const escape = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const WIDTH = 760;
const LABEL_W = 250;
const BAR_W = WIDTH - LABEL_W - 120;
const KILN_COLOUR = "#d9480f";
const BASE_COLOUR = "#868e96";

/** Two bars per row (kiln, baseline), each pair scaled to its larger value. */
function barChart(title: string, rows: RowResult[]): string {
  const rowH = 56;
  const height = 50 + rows.length * rowH + 30;
  const parts = [header(WIDTH, height), `<text x="10" y="22" font-size="15" font-weight="bold">${xml(title)}</text>`];
  rows.forEach((r, i) => {
    const y = 44 + i * rowH;
    const max = Math.max(r.kiln.value, r.baseline?.value ?? 0, 1e-9);
    parts.push(`<text x="10" y="${y + 20}" font-size="12">${xml(truncate(r.title, 38))}</text>`);
    parts.push(bar(y, (r.kiln.value / max) * BAR_W, KILN_COLOUR, `${fmt(r.kiln.value)} ${r.kiln.unit}`));
    if (r.baseline) parts.push(bar(y + 22, (r.baseline.value / max) * BAR_W, BASE_COLOUR, `${fmt(r.baseline.value)} ${r.baseline.unit}`));
  });
  const ly = height - 16;
  parts.push(`<rect x="10" y="${ly - 10}" width="12" height="12" fill="${KILN_COLOUR}"/><text x="28" y="${ly}" font-size="12">kiln</text>`);
  parts.push(
    `<rect x="80" y="${ly - 10}" width="12" height="12" fill="${BASE_COLOUR}"/><text x="98" y="${ly}" font-size="12">baseline (same run)</text>`,
  );
  return `${parts.join("\n")}\n</svg>\n`;
}

function bar(y: number, width: number, colour: string, label: string): string {
  const w = Math.max(1, width);
  return (
    `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${colour}"/>` +
    `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + 13}" font-size="12">${xml(label)}</text>`
  );
}

const PALETTE = ["#d9480f", "#1971c2", "#2f9e44", "#868e96", "#9c36b5", "#e67700"];

/** One polyline per series, shared axes from 0. */
function lineChart(title: string, series: Record<string, Array<[number, number]>>, xLabel: string, yLabel: string): string {
  const height = 360;
  const [left, top, plotW, plotH] = [60, 40, WIDTH - 220, height - 90];
  const points = Object.values(series).flat();
  const xMax = Math.max(...points.map((p) => p[0]), 1e-9);
  const yMax = Math.max(...points.map((p) => p[1]), 1e-9);
  const px = (x: number) => left + (x / xMax) * plotW;
  const py = (y: number) => top + plotH - (y / yMax) * plotH;
  const parts = [header(WIDTH, height), `<text x="10" y="22" font-size="15" font-weight="bold">${xml(truncate(title, 90))}</text>`];
  parts.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>` +
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
  );
  for (const f of [0, 0.5, 1]) {
    parts.push(`<text x="${px(f * xMax).toFixed(1)}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${fmt(f * xMax)}</text>`);
    parts.push(`<text x="${left - 6}" y="${(py(f * yMax) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmt(f * yMax)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 18}" font-size="12" text-anchor="middle">${xml(xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${top + plotH / 2}" font-size="12" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${xml(yLabel)}</text>`,
  );
  Object.entries(series).forEach(([name, pts], i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const path = [...pts]
      .sort((a, b) => a[0] - b[0])
      .map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(" ");
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    parts.push(
      `<rect x="${left + plotW + 16}" y="${top + i * 20}" width="12" height="12" fill="${colour}"/>` +
        `<text x="${left + plotW + 34}" y="${top + i * 20 + 11}" font-size="12">${xml(truncate(name, 22))}</text>`,
    );
  });
  return `${parts.join("\n")}\n</svg>\n`;
}

const header = (w: number, h: number) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">\n` +
  `<rect width="100%" height="100%" fill="white"/>`;
const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
