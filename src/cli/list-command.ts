import { Command } from "commander";
import type { GenerationListQuery } from "../producers/generation-listing.js";
import { loadEnvironment, queueLocationOf, secretScrubberOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";
import { toGenerationView, type GenerationView } from "../server/generation-view.js";
import { textTable } from "./text-table.js";

/** The listing's own query (the HTTP route takes the same), and `--json`. */
type ListFlags = GenerationListQuery & { json?: boolean };

/**
 * `kiln list`: a page of generation jobs, newest first, as `GET /v1/generations` lists them. The
 * flags' values are checked by the client's listing: a bad one is an InvalidRequestError, which
 * `main` prints as `kiln: <message>` with exit 2.
 */
export function listCommand(): Command {
  return new Command("list")
    .description("list generation jobs of every provider and partition, newest first")
    .option("--state <states>", "only these BullMQ states, comma-separated (waiting, active, delayed, completed, failed, ...)")
    .option("--provider <name>", "only this provider's queue")
    .option("--model <model>", "only jobs whose request named this model")
    .option("--batch <id>", "only the jobs of this batch")
    .option("--tenant <id>", "only this tenant's jobs (default: those that named none)")
    .option("--limit <n>", "jobs per page, 1 to 100 (default 20)")
    .option("--cursor <cursor>", "the next page: the cursor the previous page printed")
    .option("--json", "print the page as one JSON document {data, nextCursor}")
    .action(async (flags: ListFlags) => {
      const env = loadEnvironment();
      const client = new GenerationClient(queueLocationOf(env));
      try {
        const { json, ...query } = flags;
        const page = await client.list(query);
        const data = page.data.map(toGenerationView);
        // a result stored before provider text was scrubbed must not show a secret either
        const text = json ? JSON.stringify({ data, nextCursor: page.nextCursor }, null, 2) : formatJobs(data, page.nextCursor);
        console.log(secretScrubberOf(env).forJson().scrub(text));
      } finally {
        await client.close();
      }
    });
}

/** One row per job, and how to ask for the next page when there is one. */
function formatJobs(jobs: GenerationView[], nextCursor: string | null): string {
  const rows = jobs.map((j) => [
    j.id,
    j.provider,
    j.state,
    j.step ?? "-",
    j.progress === undefined ? "-" : `${j.progress}%`,
    String(j.outputs.length),
    j.error ? `${j.error.code}: ${j.error.message}` : "-",
  ]);
  const table = jobs.length === 0 ? "no jobs" : textTable(["id", "provider", "state", "step", "progress", "outputs", "error"], rows);
  return nextCursor ? `${table}\nmore: kiln list --cursor ${nextCursor} (with the same filters)` : table;
}
