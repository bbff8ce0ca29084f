import { z } from "zod";
import { tenantOfData } from "../contract/tenant.js";
import { sealJobId } from "./batch-ids.js";
import { BatchJobData, BatchSummary } from "../contract/batch-summary.js";
import type { BatchQueue } from "../queue/batch-queue.js";
import { BudgetState, type BudgetLedger } from "../billing/budget-ledger.js";

const Count = z.number().int().min(0);

/** Where a batch stands: `GET /v1/batches/{id}` and `GenerationClient.getBatch`. */
export const BatchStatus = z.object({
  id: z.string(),
  /** The parent job's BullMQ state: `waiting-children` while jobs run, then `completed`. */
  state: z.string().describe("the parent job's BullMQ state: waiting-children while its jobs run, then completed"),
  /** Every manifest line has been read; until then `total` is still growing. */
  sealed: z.boolean(),
  /** The batch's tenant, which its jobs take (`default` when it named none). */
  tenant: z.string(),
  total: Count,
  invalid: Count,
  counts: z.object({ completed: Count, failed: Count, pending: Count }),
  /** A budgeted batch's budget as it stands: what its finished jobs cost and what the running ones reserved. */
  budget: BudgetState.optional(),
  /** Present once the batch has ended: the counts, usage and cost totals, and where results.jsonl is. */
  summary: BatchSummary.optional(),
});
export type BatchStatus = z.infer<typeof BatchStatus>;

/** Reads a batch's parent job and its children's counts. Undefined when there is no such batch. */
export async function readBatchStatus(batches: BatchQueue, id: string, ledger?: BudgetLedger): Promise<BatchStatus | undefined> {
  // state first: once it reads completed, the job read after it carries the summary (read the
  // other way round, a batch finishing in between reads completed without one)
  const state = await batches.getJobState(id);
  const parent = state === "unknown" ? undefined : await batches.getJob(id);
  if (!parent) return undefined;
  const data = BatchJobData.safeParse(parent.data);
  const [deps, sealState, budget] = await Promise.all([
    parent.getDependenciesCount(),
    batches.getJobState(sealJobId(id)),
    data.success && data.data.budget ? ledger?.read(id) : undefined,
  ]);
  // the seal child counts among the dependencies; it is bookkeeping, not one of the jobs
  const sealDone = sealState === "completed" || sealState === "unknown";
  const summary = BatchSummary.safeParse(parent.returnvalue);
  return {
    id,
    state,
    sealed: data.success && data.data.sealed,
    tenant: tenantOfData(parent.data),
    total: data.success ? data.data.total : 0,
    invalid: data.success ? data.data.invalid : 0,
    counts: {
      completed: Math.max(0, (deps.processed ?? 0) - (sealDone ? 1 : 0)),
      failed: deps.ignored ?? 0,
      pending: Math.max(0, (deps.unprocessed ?? 0) - (sealDone ? 0 : 1)),
    },
    budget,
    summary: summary.success ? summary.data : undefined,
  };
}
