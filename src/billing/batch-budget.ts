import type { GenerationError } from "../contract/generation-result.js";
import { BudgetLedger, type Reservation } from "./budget-ledger.js";
import { estimateCost } from "./cost-estimate.js";
import type { DecimalAmount } from "./decimal-amount.js";
import type { PriceTable } from "./price-table.js";
import type { ModelSpec } from "../providers/model-spec.js";
import type { RedisConnection } from "../queue/redis.js";

/** How long a reservation outlives its job's deadline before it is released for good (a job that never came back). */
export const HOLD_GRACE_MS = 10 * 60_000;

/** What the submit step needs to know before it calls the provider for a batch child: go on, or end with `error`. */
export type BudgetDecision = { ok: true } | { ok: false; error: GenerationError };

/** A batch child's budget, as the submit step and the end of a job see it. */
export interface BudgetGate {
  /** Reserves the child's estimated cost in its batch's budget (when the batch has one) before it is submitted. */
  reserve(child: BudgetChild, deadlineAt: number): Promise<BudgetDecision>;
  /** Charges the child's actual cost (0 when none is known) in place of its reservation. */
  settle(batchId: string, jobId: string, actual: DecimalAmount | "held"): Promise<void>;
}

export interface BudgetChild {
  batchId: string;
  jobId: string;
  model: ModelSpec;
  input: Record<string, unknown>;
}

/**
 * The budget ledger with the operator's prices: a child's reservation is its estimated cost
 * (see `estimatedUsage`), held until its deadline plus a grace period. Batches without a
 * budget cost one script call per child submit and are otherwise untouched.
 */
export class BatchBudget implements BudgetGate {
  private readonly ledger: BudgetLedger;

  constructor(
    redis: RedisConnection,
    prefix: string,
    private readonly prices: PriceTable | undefined,
  ) {
    this.ledger = new BudgetLedger(redis, prefix);
  }

  async reserve(child: BudgetChild, deadlineAt: number): Promise<BudgetDecision> {
    const price = this.prices?.priceOf(child.model.provider, child.model.id);
    const estimate = price ? estimateCost(child.model, child.input, price) : undefined;
    const answer = await this.ledger.reserve(
      child.batchId,
      child.jobId,
      estimate?.ok ? estimate.amount : undefined,
      deadlineAt + HOLD_GRACE_MS,
    );
    return this.decide(answer, child, estimate && !estimate.ok ? estimate.reason : "it has no price in KILN_PRICES");
  }

  async settle(batchId: string, jobId: string, actual: DecimalAmount | "held"): Promise<void> {
    await this.ledger.settle(batchId, jobId, actual);
  }

  private async decide(answer: Reservation, child: BudgetChild, unpricedWhy: string): Promise<BudgetDecision> {
    switch (answer) {
      case "none":
      case "reserved":
      case "settled":
        return { ok: true };
      case "unpriced":
        // the producer refuses such lines; a worker whose price table differs from the producer's ends up here
        return {
          ok: false,
          error: {
            code: "invalid_request",
            message: `batch ${child.batchId} has a budget, but ${child.model.provider} ${child.model.id} cannot be charged against it: ${unpricedWhy}`,
            retryable: false,
          },
        };
      case "exhausted": {
        const budget = await this.ledger.read(child.batchId);
        const figures = budget ? ` (limit ${budget.limit} ${budget.currency}, spent ${budget.spent}, reserved ${budget.reserved})` : "";
        return {
          ok: false,
          error: {
            code: "budget_exhausted",
            message: `batch ${child.batchId}'s budget is spent or reserved${figures}: this job was not submitted`,
            retryable: false,
          },
        };
      }
    }
  }
}
