import type { GenerationError } from "../contract/generation-result.js";
import type { ModelSpec } from "../providers/model-spec.js";
import type { RedisConnection } from "../queue/redis.js";
import { HOLD_GRACE_MS, type BudgetDecision } from "./batch-budget.js";
import { BudgetLedger, type BudgetState } from "./budget-ledger.js";
import { estimateCost } from "./cost-estimate.js";
import { formatDecimal, parseDecimal, type DecimalAmount } from "./decimal-amount.js";
import type { PriceTable } from "./price-table.js";

/** The periods a tenant's spend is limited per: UTC days and UTC months. */
export const BUDGET_PERIODS = ["daily", "monthly"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** The UTC day (`2026-12-06`) or month (`2026-12`) that `at` (ms) falls in. */
function periodIdOf(period: BudgetPeriod, at: number): string {
  const iso = new Date(at).toISOString();
  return period === "daily" ? iso.slice(0, 10) : iso.slice(0, 7);
}

/** One period of a tenant's budget as it stands. */
export interface TenantPeriodUsage extends BudgetState {
  period: BudgetPeriod;
  /** The day or month: `2026-12-06`, `2026-12`. */
  id: string;
  /** limit − spent − reserved, at least 0. */
  remaining: string;
}

/**
 * A run of a job as a tenant's budget sees it. The run counts in the periods it started in (a
 * worker first picked it up), and holds under `<job id>@<started at>`: a retried job's new run is
 * charged again, in its own periods, and never finds its first run's settled hold.
 */
export interface TenantJob {
  tenant: string;
  jobId: string;
  /** The run's `startedAt` (ms): the result's `timings.startedAt`. */
  startedAt: number;
  model: ModelSpec;
  input: Record<string, unknown>;
}

/**
 * Tenants' spend limits per period (`KILN_TENANT_BUDGETS`), kept in the batch budgets' ledger:
 * a job reserves its estimated cost in each of its tenant's periods before it is submitted and
 * settles its actual cost at its end, exactly as a batch child does. A job counts in the periods
 * it was enqueued in, so a crash, a retry or a submit after midnight settles where it reserved.
 * The ledgers live under the un-partitioned prefix (`<prefix>:tenants:…`): one per tenant and
 * period, whatever partition its jobs are in.
 */
export class TenantBudget {
  private readonly ledger: BudgetLedger;

  constructor(
    redis: RedisConnection,
    prefix: string,
    private readonly prices: PriceTable | undefined,
    private readonly limits: ReadonlyMap<string, Partial<Record<BudgetPeriod, DecimalAmount>>>,
  ) {
    this.ledger = new BudgetLedger(redis, prefix, undefined, (account) => `${prefix}:tenants:${account}:budget`);
  }

  /** The tenant's limits, its own or `*`'s. */
  limitsOf(tenant: string): Array<[BudgetPeriod, DecimalAmount]> {
    const limits = this.limits.get(tenant) ?? this.limits.get("*") ?? {};
    return BUDGET_PERIODS.flatMap((period) =>
      limits[period] === undefined ? [] : [[period, limits[period]] as [BudgetPeriod, DecimalAmount]],
    );
  }

  async reserve(job: TenantJob, deadlineAt: number): Promise<BudgetDecision> {
    const limits = this.limitsOf(job.tenant);
    if (limits.length === 0 || !this.prices) return { ok: true };
    const price = this.prices.priceOf(job.model.provider, job.model.id);
    const estimate = price ? estimateCost(job.model, job.input, price) : undefined;
    if (!estimate?.ok)
      return refused(
        "invalid_request",
        `tenant ${job.tenant} has a budget, but ${job.model.provider} ${job.model.id} cannot be charged against it: ${estimate ? estimate.reason : "it has no price in KILN_PRICES"}`,
      );
    const held: string[] = [];
    for (const [period, limit] of limits) {
      const account = accountOf(job.tenant, period, job.startedAt);
      await this.ledger.setLimit(account, limit, this.prices.currency);
      const answer = await this.ledger.reserve(account, holdOf(job.jobId, job.startedAt), estimate.amount, deadlineAt + HOLD_GRACE_MS);
      if (answer !== "exhausted") {
        held.push(account);
        continue;
      }
      // the job ends here: what the other periods hold for it is given back
      for (const other of held) await this.ledger.settle(other, holdOf(job.jobId, job.startedAt), 0n);
      const state = await this.ledger.read(account);
      const figures = state ? ` (limit ${state.limit} ${state.currency}, spent ${state.spent}, reserved ${state.reserved})` : "";
      return refused(
        "budget_exhausted",
        `tenant ${job.tenant}'s ${period} budget for ${periodIdOf(period, job.startedAt)} is spent or reserved${figures}: this job was not submitted`,
      );
    }
    return { ok: true };
  }

  /**
   * Charges the run's actual cost (0 when none) in place of its reservations. Every period is
   * settled, not only those configured now: a run that reserved under a configuration since
   * changed is still charged where it reserved; a period it holds nothing in changes nothing.
   */
  async settle(tenant: string, jobId: string, startedAt: number, actual: DecimalAmount | "held"): Promise<void> {
    const accounts = BUDGET_PERIODS.map((period) => accountOf(tenant, period, startedAt));
    await this.ledger.settleEach(accounts, holdOf(jobId, startedAt), actual);
  }

  /** Each budgeted period of the tenant at `at`: limit, spent, reserved, remaining. */
  async usage(tenant: string, at = Date.now()): Promise<TenantPeriodUsage[]> {
    const periods = await Promise.all(
      this.limitsOf(tenant).map(async ([period, limit]): Promise<TenantPeriodUsage> => {
        const state = await this.ledger.read(accountOf(tenant, period, at));
        const spent = state?.spent ?? formatDecimal(0n);
        const reserved = state?.reserved ?? formatDecimal(0n);
        const left = limit - (parseDecimal(spent) ?? 0n) - (parseDecimal(reserved) ?? 0n);
        return {
          period,
          id: periodIdOf(period, at),
          // the limit in force is the configured one: the ledger takes it at the next reservation
          limit: formatDecimal(limit),
          currency: this.prices?.currency ?? state?.currency ?? "",
          spent,
          reserved,
          remaining: formatDecimal(left > 0n ? left : 0n),
          exhausted: state?.exhausted ?? false,
        };
      }),
    );
    return periods;
  }
}

function holdOf(jobId: string, startedAt: number): string {
  return `${jobId}@${startedAt}`;
}

function accountOf(tenant: string, period: BudgetPeriod, at: number): string {
  return `${tenant}:${period}:${periodIdOf(period, at)}`;
}

function refused(code: "budget_exhausted" | "invalid_request", message: string): { ok: false; error: GenerationError } {
  return { ok: false, error: { code, message, retryable: false } };
}
