/**
 * One row of `npm run bench`: kiln measured against a baseline in the same run, on the same
 * machine. Each row lives in `bench/rows/<id>.ts` and exports `row`. The runner
 * (`bench/run.ts`) runs the rows in order, writes `bench/results/<date>.json` and renders the
 * Markdown report with its SVG charts from those results.
 */
export interface BenchRow {
  /** Short stable id, also the file name under bench/rows/ and the key in the results JSON. */
  id: string;
  /** What the row measures, one line, as the README's figures table shows it. */
  title: string;
  run(context: BenchContext): Promise<RowResult>;
}

export interface BenchContext {
  /** `npm run bench -- --full`: the large sizes of the table; otherwise sizes that finish in a minute or two. */
  full: boolean;
  /** Where a row may write scratch files; removed after the run. */
  scratchDir: string;
  /** Progress lines for the operator (printed, never parsed). */
  log(line: string): void;
}

/** One measured quantity. */
export interface Figure {
  value: number;
  /** e.g. "jobs/s", "MiB", "s", "polls/s". */
  unit: string;
}

export interface RowResult {
  id: string;
  title: string;
  /** kiln's figure. */
  kiln: Figure;
  /** The baseline's figure in the same unit, measured in this run; absent only for rows with no baseline. */
  baseline?: Figure & { name: string };
  /** kiln / baseline (or the row's own stated ratio), rounded for display by the report. */
  ratio?: number;
  /** The goal in words, e.g. "≥ 25% of the no-op rate", and whether this run met it. */
  goal: string;
  met: boolean;
  /** Sizes, CPU per process, percentiles, anything that puts the figure in context. */
  context: Record<string, number | string | boolean>;
  /** Optional series for the row's chart, all on the axes of `seriesAxes`: label → points (x, y). */
  series?: Record<string, Array<[number, number]>>;
  /**
   * The series' axis titles, each "quantity (unit)", e.g. `{ x: "task duration (s)", y: "detection
   * delay (s)" }`. `joined`: x is ordered (a size, a count, a time) and a line joins each series'
   * points; otherwise they stay points.
   */
  seriesAxes?: { x: string; y: string; joined?: boolean };
  /**
   * Optional figures by category, drawn as bars: one entry per quantity, its axis title
   * "quantity (unit)", e.g. `{ axis: "throughput (MiB/s)", values: { kiln: 58.1, "plain copy": 53.2 } }`.
   */
  bars?: Array<{ axis: string; values: Record<string, number> }>;
}
