import type { PriceTable } from "../billing/price-table.js";
import { MAX_BUDGET } from "../billing/budget-ledger.js";
import { estimateCost } from "../billing/cost-estimate.js";
import { parseDecimal, type DecimalAmount } from "../billing/decimal-amount.js";
import type { GenerationRequest } from "../contract/generation-request.js";
import { generateQueueName } from "../contract/queue-names.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { validateRequest } from "./validate-request.js";
import { resolveModel } from "../providers/model-registry.js";
import { isRecord } from "../util/describe-value.js";
import { DEFAULT_TENANT } from "../contract/tenant.js";
import { childJobId } from "../batches/batch-ids.js";
import { BatchLine, type BatchOptions } from "./batch-options.js";

/** The line as a child job, or why not. With `prices` (a budgeted batch), its cost must be estimable. */
export function checkLine(
  value: unknown,
  batchId: string,
  { prices, maxJobBytes, tenant, reuse }: Pick<BatchOptions, "prices" | "maxJobBytes" | "tenant" | "reuse">,
): { queue: string; id: string; data: GenerationRequest } | { error: string } {
  if (!isRecord(value)) return { error: "(root): expected a JSON object" };
  const { custom_id, ...request } = value;
  if (!BatchLine.shape.custom_id.safeParse(custom_id).success) return { error: "custom_id: required, a string of 1 to 200 characters" };
  // the batch's tenant is every line's: a line cannot move its job to another tenant's share or budget
  if (request.tenant !== undefined && request.tenant !== (tenant ?? DEFAULT_TENANT))
    return { error: `tenant: a batch's requests take the batch's tenant (${tenant ?? DEFAULT_TENANT}); set the batch's tenant instead` };
  try {
    // the batch's reuse is every line's that says none of its own
    const reuses = request.reuse ?? reuse;
    const data = validateRequest(
      { ...request, tenant, batch: { id: batchId, custom_id }, ...(reuses ? { reuse: reuses } : {}) },
      { maxJobBytes },
    );
    const unpriced = prices ? budgetProblem(data, prices) : undefined;
    if (unpriced) return { error: unpriced };
    return { queue: generateQueueName(data.provider), id: childJobId(batchId, String(custom_id)), data };
  } catch (err) {
    if (err instanceof InvalidRequestError) return { error: err.message };
    throw err;
  }
}

/** The batch's budget, checked: a decimal up to MAX_BUDGET, with the price table that prices its jobs. */
export function budgetOf(options: BatchOptions): { limit: DecimalAmount; prices: PriceTable } | undefined {
  if (options.budget === undefined) return undefined;
  const limit = parseDecimal(options.budget, 9);
  if (limit === undefined || limit > parseDecimal(MAX_BUDGET)!)
    throw new InvalidRequestError(
      `budget: expected a decimal amount from 0 to ${MAX_BUDGET}, such as 25.00 (got ${String(options.budget)})`,
    );
  if (!options.prices)
    throw new InvalidRequestError("budget: needs the operator's price table (KILN_PRICES) to estimate what each job costs");
  return { limit, prices: options.prices };
}

/**
 * Why a request cannot run in a budgeted batch: its model has no price, or its cost cannot be
 * estimated before it runs. Refused at enqueue: the budget could not stop it otherwise.
 */
function budgetProblem(request: GenerationRequest, prices: PriceTable): string | undefined {
  const model = resolveModel(request.provider, request.model, request.passthrough);
  if (!model) return undefined; // validateRequest already refused it
  const price = prices.priceOf(model.provider, model.id);
  if (!price) return `budget: ${model.provider} ${model.id} has no price in KILN_PRICES, and a budgeted batch runs only priced models`;
  const estimate = estimateCost(model, model.input.parse(request.input), price);
  return estimate.ok ? undefined : `budget: ${model.provider} ${model.id}: ${estimate.reason}`;
}
