import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchRow, RowResult } from "./row.js";
import { ROOT } from "./stack.js";
import { writeReport } from "./write-report.js";

/**
 * `npm run bench [-- --full] [-- --row a,b]`: runs every row in `bench/rows/` (each kiln
 * against its baseline in the same run), prints a line per row, and writes
 * `bench/results/<date>.json` and the report `bench/results/<date>.md` with its SVG charts
 * (`npm run bench:render` draws them again from the JSON).
 */

/** Rows run in this order; rows not listed (added later) run after them, by id. */
const ORDER = [
  "parked",
  "visits",
  "lifecycle-local",
  "lifecycle-s3",
  "archive",
  "detection",
  "detection-rate",
  "first-poll",
  "naive",
  "manifest",
  "fairness",
  "fairness-rate",
  "reuse",
  "soak",
];

export interface BenchResults {
  date: string;
  /** The files' name: the date, then the rows when only some ran (a one-row run keeps a full run's files). */
  name: string;
  /** The command as run, e.g. `npm run bench -- --full`. */
  command: string;
  full: boolean;
  machine: { cpus: number; cpuModel: string; node: string; redis: string; platform: string; commit: string };
  rows: RowResult[];
  /** Rows that threw: id → message. */
  errors: Record<string, string>;
}

async function main(): Promise<void> {
  // a signal ends the run through process.exit, so the rows' child processes are killed with it
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  const args = process.argv.slice(2);
  const full = args.includes("--full");
  const only = valueOf(args, "--row")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const rows = await loadRows();
  const unknown = only?.filter((id) => !rows.some((r) => r.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`--row: no such row ${unknown.join(", ")} (rows: ${rows.map((r) => r.id).join(", ")})`);
  const chosen = only ? rows.filter((r) => only.includes(r.id)) : rows;
  const date = new Date().toISOString().slice(0, 10);
  const results: BenchResults = {
    date,
    name: only ? `${date}-${chosen.map((r) => r.id).join("-")}` : date,
    command: ["npm run bench", ...(args.length ? ["--", ...args] : [])].join(" "),
    full,
    machine: machineInfo(),
    rows: [],
    errors: {},
  };
  console.log(
    `kiln bench ${full ? "--full " : ""}on ${results.machine.cpus} CPUs, node ${results.machine.node}, redis ${results.machine.redis}, ` +
      `commit ${results.machine.commit}: ${chosen.map((r) => r.id).join(", ")}`,
  );
  for (const row of chosen) {
    const scratchDir = await mkdtemp(join(tmpdir(), `kiln-bench-${row.id}-`));
    const started = Date.now();
    try {
      const result = await row.run({ full, scratchDir, log: (line) => console.log(`  [${row.id}] ${line}`) });
      results.rows.push(result);
      console.log(lineOf(result, Date.now() - started));
      // after every row: a run cut short (a timeout, Ctrl-C) keeps the rows it finished
      await writeResults(results, false);
    } catch (err) {
      results.errors[row.id] = err instanceof Error ? err.message : String(err);
      console.log(`${row.id}: FAILED after ${((Date.now() - started) / 1000).toFixed(0)} s: ${results.errors[row.id]}`);
    } finally {
      if (!process.env.BENCH_KEEP) await rm(scratchDir, { recursive: true, force: true });
    }
  }
  await writeResults(results, true);
  if (Object.keys(results.errors).length > 0) process.exitCode = 1;
}

/** Writes the results JSON, the report and its charts; `announce` prints where. */
async function writeResults(results: BenchResults, announce: boolean): Promise<void> {
  const dir = process.env.BENCH_RESULTS_DIR ?? join(ROOT, "bench/results");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${results.name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const written = await writeReport(results, dir, results.name);
  if (announce) console.log(`wrote ${dir}/${results.name}.json, ${written.join(", ")}`);
}

/** Every module in bench/rows/ that exports `row`, in ORDER and then by id. */
async function loadRows(): Promise<BenchRow[]> {
  const dir = new URL("./rows/", import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".js"));
  const rows: BenchRow[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir.pathname, file)).href)) as { row?: BenchRow };
    if (module.row) rows.push(module.row);
  }
  const rank = (id: string) => (ORDER.includes(id) ? ORDER.indexOf(id) : ORDER.length);
  return rows.sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
}

function lineOf(r: RowResult, ms: number): string {
  const kiln = `${r.kiln.value} ${r.kiln.unit}`;
  const base = r.baseline ? ` vs ${r.baseline.value} ${r.baseline.unit} (${r.baseline.name})` : "";
  const ratio = r.ratio !== undefined ? `, ratio ${r.ratio}` : "";
  return `${r.id}: ${kiln}${base}${ratio}; goal ${r.goal}: ${r.met ? "met" : "NOT met"} (${(ms / 1000).toFixed(0)} s)`;
}

function machineInfo(): BenchResults["machine"] {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    node: process.version,
    redis: /v=(\S+)/.exec(run("redis-server", ["--version"]))?.[1] ?? "unknown",
    platform: `${process.platform} ${process.arch}`,
    commit: run("git", ["rev-parse", "--short", "HEAD"]),
  };
}

function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
