import { z } from "zod";
import { PriceTable, PriceTableError } from "../billing/price-table.js";
import { configError } from "./errors.js";

/** Usage and cost: the operator's price table, which gives results a cost and lets batches have a budget. */
export const PricesConfig = z.object({
  /** The path of the operator's price table, a JSON or YAML file (docs/configuration.md). Unset by default: no costs, no budgets. */
  KILN_PRICES: z.string().trim().min(1, { message: "expected the path of a price table" }).optional(),
});
export type PricesConfig = z.infer<typeof PricesConfig>;

/** The price table KILN_PRICES names, read and checked at start-up; a bad file is a ConfigError naming the entry. */
export function pricesOf(env: PricesConfig): PriceTable | undefined {
  if (!env.KILN_PRICES) return undefined;
  try {
    return PriceTable.load(env.KILN_PRICES);
  } catch (err) {
    if (err instanceof PriceTableError) throw configError(...err.message.split("\n"));
    throw err;
  }
}
