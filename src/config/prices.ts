import { z } from "zod";

/** Usage and cost: the operator's price table, which gives results a cost and lets batches have a budget. */
export const PricesConfig = z.object({
  /** The path of the operator's price table, a JSON or YAML file (docs/configuration.md). Unset by default: no costs, no budgets. */
  KILN_PRICES: z.string().trim().min(1, { message: "expected the path of a price table" }).optional(),
});
export type PricesConfig = z.infer<typeof PricesConfig>;
