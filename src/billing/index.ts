export { PriceTable, PriceTableError, PRICE_UNITS, type ModelPrice, type PriceUnit } from "./price-table.js";
export { BudgetLedger, MAX_BUDGET, type BudgetState } from "./budget-ledger.js";
export { costOf } from "./cost-of.js";
export { estimateCost, estimatedUsage, type CostEstimate } from "./cost-estimate.js";
export { formatDecimal, parseDecimal, type DecimalAmount } from "./decimal-amount.js";
export { usageOf } from "./usage-of.js";
