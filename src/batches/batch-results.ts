import { GenerationResult } from "../contract/generation-result.js";
import { storedResultOf, type GenerationQueue } from "../queue/kiln-job.js";
import type { BatchJob } from "../queue/batch-queue.js";
import type { BatchResultLine } from "../contract/batch-summary.js";
import { GenerationRequest } from "../contract/generation-request.js";
import type { UsageTotals } from "../billing/usage-totals.js";

const PAGE = 500;

/** Counts of the lines written so far, and their usage and cost. */
export interface ResultCounts {
  completed: number;
  failed: number;
  /** Failed lines whose code is `budget_exhausted`: the budget stopped the batch. */
  budgetExhausted: number;
  totals: UsageTotals;
}

/**
 * The lines of results.jsonl, read page by page from the batch's BullMQ dependencies (so a
 * batch of any size is never held whole in memory): completed children from their return
 * values, failed ones from their job data.
 */
export async function* batchResultLines(
  parent: BatchJob,
  prefix: string,
  queueOf: (name: string) => GenerationQueue,
  counts: ResultCounts,
): AsyncGenerator<string> {
  for await (const [, value] of pages(parent, "processed")) {
    const result = GenerationResult.safeParse(value);
    // the seal child and anything else that is not a generation result has no line
    if (!result.success || !result.data.batch) continue;
    counts.completed++;
    counts.totals.add(result.data.usage, result.data.cost);
    yield line({
      custom_id: result.data.batch.custom_id,
      id: result.data.id,
      status: "completed",
      outputs: result.data.outputs,
      error: null,
      usage: result.data.usage,
      cost: result.data.cost,
    });
  }
  for await (const [key, reason] of pages(parent, "ignored")) {
    const failed = await failedLine(key.slice(prefix.length + 1), String(reason), queueOf);
    counts.failed++;
    if (failed.error?.code === "budget_exhausted") counts.budgetExhausted++;
    // a failed job may still have run (an archive failure): what it used counts
    counts.totals.add(failed.usage, failed.cost);
    yield line(failed);
  }
}

/** A failed child (`<queue>:<id>`, the prefix stripped): its custom_id and error from its own data. */
async function failedLine(queueAndId: string, reason: string, queueOf: (name: string) => GenerationQueue): Promise<BatchResultLine> {
  const [queueName = "", ...rest] = queueAndId.split(":");
  const id = rest.join(":");
  const job = await queueOf(queueName).getJob(id);
  // a child is a checked request with its batch; read defensively all the same, as any job data
  const batch = GenerationRequest.shape.batch.safeParse(job?.data.batch);
  const result = storedResultOf(job);
  const error = result?.error
    ? { code: result.error.code, message: result.error.message }
    : { code: "failed", message: job?.failedReason || reason };
  return {
    custom_id: (batch.success ? batch.data?.custom_id : undefined) ?? id,
    id,
    status: "failed",
    outputs: result?.outputs ?? [],
    error,
    usage: result?.usage,
    cost: result?.cost,
  };
}

async function* pages(parent: BatchJob, kind: "processed" | "ignored"): AsyncGenerator<[string, unknown]> {
  let cursor = 0;
  do {
    const page = await parent.getDependencies({ [kind]: { cursor, count: PAGE } });
    yield* Object.entries((kind === "processed" ? page.processed : page.ignored) ?? {});
    cursor = Number((kind === "processed" ? page.nextProcessedCursor : page.nextIgnoredCursor) ?? 0);
  } while (cursor !== 0);
}

function line(value: BatchResultLine): string {
  return `${JSON.stringify(value)}\n`;
}
