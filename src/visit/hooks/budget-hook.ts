import { parseDecimal, type DecimalAmount } from "../../billing/decimal-amount.js";
import type { BudgetGate } from "../../billing/batch-budget.js";
import type { VisitHook } from "../visit-hook.js";
import type { TenantBudget } from "../../billing/tenant-budget.js";
import { tenantOf } from "../../contract/tenant.js";

/** A job's hold for the model it tries: its id for the request's own model, `<id>#<n>` for its n-th fallback. */
function holdOf(jobId: string, attempt: number | undefined): string {
  return attempt ? `${jobId}#${attempt}` : jobId;
}

/** What the budget hook needs of the tenants' budgets (`TenantBudget`). */
export type TenantLedger = Pick<TenantBudget, "reserve" | "settle">;

/** What the budget hook needs of the batches' budgets (`BatchBudget`). */
export interface BudgetLedger extends BudgetGate {
  settle(batchId: string, jobId: string, actual: DecimalAmount | "held"): Promise<void>;
}

/**
 * A batch's budget, reserved and settled by its children. A child reserves its estimated cost
 * before its first submit (a re-run after a crash between reserve and submit finds its
 * reservation and keeps it); a child the budget cannot cover fails `budget_exceeded` before the
 * provider hears of it. At its end, before its webhook, the reservation is replaced by its cost
 * (nothing billable: 0), so the next child's reservation sees what this one spent. Every batch
 * child settles, even one whose state does not show a reservation (a crash can come between
 * the reservation and the state write): the ledger knows, and settling a child without a hold,
 * or one settled already, changes nothing.
 */
export function budgetHook(budget: BudgetLedger, tenants?: TenantLedger): VisitHook {
  return {
    name: "budget",

    // the tenant's periods first, then the batch. A job either refuses ends at once, and its end
    // (beforeFinish, which a crash resumes to) settles what the other reserved: nothing stays held
    async admit({ job, accepted }, state) {
      const { request, model, input } = accepted;
      // each model a job tries holds its own estimate, until the job's end settles them all
      const hold = holdOf(job.id, state.attempt);
      const own = tenants
        ? await tenants.reserve({ tenant: tenantOf(request), jobId: hold, startedAt: state.startedAt, model, input }, state.deadlineAt)
        : { ok: true as const };
      if (!own.ok || !request.batch) return own;
      return budget.reserve({ batchId: request.batch.id, jobId: hold, model, input }, state.deadlineAt);
    },

    async beforeFinish({ job, accepted }, result) {
      const cost = result.cost ? (parseDecimal(result.cost.amount) ?? 0n) : 0n;
      const batch = accepted.request.batch;
      // the models left before the one that served: nothing spent after a refusal, the estimate after a submit of unknown outcome
      const settlements: Array<[string, DecimalAmount | "held"]> = (result.attempts ?? []).map((left, i) => [
        holdOf(job.id, i),
        left.reason === "failedSubmits" || left.reason === "deadline" ? "held" : 0n,
      ]);
      settlements.push([holdOf(job.id, result.attempts?.length), cost]);
      for (const [hold, actual] of settlements) {
        if (batch) await budget.settle(batch.id, hold, actual);
        // the run's start, as the result tells it: the moment its reservations were counted in
        await tenants?.settle(tenantOf(accepted.request), hold, Date.parse(result.timings.startedAt ?? result.timings.enqueuedAt), actual);
      }
    },
  };
}
