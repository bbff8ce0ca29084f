import { Command } from "commander";
import type { BatchListQuery } from "../producers/generation-listing.js";
import { loadEnvironment, queueLocationOf, secretScrubberOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";
import type { BatchStatus } from "../batches/batch-status.js";
import { textTable } from "./text-table.js";

/** `kiln batch`: a batch's status, and the batches there are. */
export function batchCommand(): Command {
  return new Command("batch").description("inspect bulk batches").addCommand(statusCommand()).addCommand(listCommand());
}

function statusCommand(): Command {
  return new Command("status")
    .description("show a batch's state and counts, and its summary once it ended")
    .argument("<id>", "batch id")
    .option("--json", "print the status as JSON, as GET /v1/batches/{id} answers it")
    .action(async (id: string, flags: { json?: boolean }) => {
      await withClient(async (client, print) => {
        const status = await client.getBatch(id);
        if (!status) {
          console.error(`kiln: no batch ${id}`);
          process.exitCode = 3;
          return;
        }
        print(flags.json ? JSON.stringify(status, null, 2) : describeBatch(status));
      });
    });
}

function listCommand(): Command {
  return new Command("list")
    .description("list batches of every partition, newest first")
    .option("--state <states>", "only batches in these BullMQ states, comma-separated (waiting-children while running, completed, ...)")
    .option("--tenant <id>", "only this tenant's batches")
    .option("--limit <n>", "batches per page, 1 to 100 (default 20)")
    .option("--cursor <cursor>", "the next page: the cursor the previous page printed")
    .option("--json", "print the page as one JSON document {data, nextCursor}")
    .action(async (flags: BatchListQuery & { json?: boolean }) => {
      const { json, ...query } = flags;
      await withClient(async (client, print) => {
        const page = await client.listBatches(query);
        print(json ? JSON.stringify(page, null, 2) : formatBatches(page.data, page.nextCursor));
      });
    });
}

/** Runs `fn` with a client on the configured Redis (closed afterwards) and a `print` that scrubs secrets, as every read does. */
async function withClient(fn: (client: GenerationClient, print: (text: string) => void) => Promise<void>): Promise<void> {
  const env = loadEnvironment();
  const client = new GenerationClient(queueLocationOf(env));
  const scrubber = secretScrubberOf(env).forJson();
  try {
    await fn(client, (text) => console.log(scrubber.scrub(text)));
  } finally {
    await client.close();
  }
}

function describeBatch(b: BatchStatus): string {
  const lines = [
    `batch ${b.id}: ${b.state}${b.sealed ? "" : " (still being enqueued)"}`,
    `  jobs: ${b.total} (${b.counts.completed} completed, ${b.counts.failed} failed, ${b.counts.pending} pending); ${b.invalid} invalid lines`,
  ];
  if (b.budget) lines.push(`  budget: ${b.budget.spent} of ${b.budget.limit} ${b.budget.currency} spent, ${b.budget.reserved} reserved`);
  if (b.summary) lines.push(`  results: ${b.summary.results.url}`);
  return lines.join("\n");
}

function formatBatches(batches: BatchStatus[], nextCursor: string | null): string {
  const rows = batches.map((b) => [
    b.id,
    b.state,
    String(b.total),
    String(b.counts.completed),
    String(b.counts.failed),
    String(b.counts.pending),
  ]);
  const table = batches.length === 0 ? "no batches" : textTable(["id", "state", "total", "completed", "failed", "pending"], rows);
  return nextCursor ? `${table}\nmore: kiln batch list --cursor ${nextCursor}` : table;
}
