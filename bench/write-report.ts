import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderReport } from "./report.js";
import type { BenchResults } from "./run.js";

/** Writes `<dir>/<name>.md` and its SVG charts beside it; answers the files' names. */
export async function writeReport(results: BenchResults, dir: string, name: string): Promise<string[]> {
  const report = await renderReport(results, name);
  await writeFile(join(dir, `${name}.md`), report.markdown);
  for (const [file, svg] of Object.entries(report.charts)) await writeFile(join(dir, file), svg);
  return [`${name}.md`, ...Object.keys(report.charts)];
}
