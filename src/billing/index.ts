import { configError, type Environment } from "../config/index.js";
import { PriceTable, PriceTableError } from "./price-table.js";

export { PriceTable, PriceTableError, PRICE_UNITS, type ModelPrice, type PriceUnit } from "./price-table.js";
export { BudgetLedger, MAX_BUDGET, type BudgetState } from "./budget-ledger.js";
export { costOf } from "./cost-of.js";
export { estimateCost, estimatedUsage, type CostEstimate } from "./cost-estimate.js";
export { formatDecimal, parseDecimal, type DecimalAmount } from "./decimal-amount.js";
export { usageOf } from "./usage-of.js";

/** The price table KILN_PRICES names, read and checked at start-up; a bad file is a ConfigError naming the entry. */
export function pricesOf(env: Pick<Environment, "KILN_PRICES">): PriceTable | undefined {
  if (!env.KILN_PRICES) return undefined;
  try {
    return PriceTable.load(env.KILN_PRICES);
  } catch (err) {
    if (err instanceof PriceTableError) throw configError(...err.message.split("\n"));
    throw err;
  }
}
