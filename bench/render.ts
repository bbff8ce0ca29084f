import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { BenchResults } from "./run.js";
import { writeReport } from "./write-report.js";

/**
 * `npm run bench:render [-- <results.json>...]`: renders the report and charts again from
 * results a bench run wrote, without running anything (every `bench/results/*.json` when no file
 * is named). Each file's report is written beside it under the file's own name, which is what
 * the README links to even where the file was renamed after its run.
 */
async function main(): Promise<void> {
  const named = process.argv.slice(2);
  const dir = join(process.cwd(), "bench/results");
  const files = named.length ? named : (await readdir(dir)).filter((f) => f.endsWith(".json")).map((f) => join(dir, f));
  for (const file of files) {
    const results = JSON.parse(await readFile(file, "utf8")) as BenchResults;
    const written = await writeReport(results, dirname(file), basename(file, ".json"));
    console.log(`${file}: wrote ${written.join(", ")}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
