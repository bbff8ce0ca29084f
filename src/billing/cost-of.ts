import type { Usage } from "../contract/usage.js";
import type { DecimalAmount } from "./decimal-amount.js";
import type { ModelPrice, PriceUnit } from "./price-table.js";

/** A figure in thousandths (seconds as milliseconds, tokens per 1k as tokens): multiplying by it then dividing by 1000 stays exact. */
type Milli = bigint;

/** How many thousandths of each unit `usage` holds; undefined when it does not say. */
function quantityOf(unit: PriceUnit, usage: Usage): Milli | undefined {
  const whole = (n: number | undefined) => (n === undefined ? undefined : BigInt(n) * 1000n);
  switch (unit) {
    case "per_request":
      return 1000n;
    case "per_image":
      return whole(usage.images);
    case "per_video":
      return whole(usage.videos);
    case "per_3d_model":
      return whole(usage.models);
    case "per_character":
      return whole(usage.characters);
    case "per_second":
      return usage.seconds === undefined ? undefined : BigInt(Math.round(usage.seconds * 1000));
    case "per_1k_prompt_tokens":
      return usage.promptTokens === undefined ? undefined : BigInt(usage.promptTokens);
    case "per_1k_completion_tokens":
      return usage.completionTokens === undefined ? undefined : BigInt(usage.completionTokens);
  }
}

/**
 * The cost of `usage` at `price`: the sum over the model's priced units of price × quantity.
 * Undefined when a priced unit's figure is missing from the usage (a video priced per second
 * whose length nobody reported): a partial sum would understate the cost.
 */
export function costOf(price: ModelPrice, usage: Usage): DecimalAmount | undefined {
  let total = 0n;
  for (const [unit, amount] of Object.entries(price) as Array<[PriceUnit, DecimalAmount]>) {
    const quantity = quantityOf(unit, usage);
    if (quantity === undefined) return undefined;
    // prices have at most 9 decimals and amounts 12, so a thousandth of a price is still whole
    total += (amount * quantity) / 1000n;
  }
  return total;
}
