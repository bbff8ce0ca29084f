import { USAGE_UNITS, type BatchTotals, type Money, type Usage, type UsageTotal } from "../contract/usage.js";
import { formatDecimal, parseDecimal, type DecimalAmount } from "./decimal-amount.js";

/**
 * Adds up jobs' usage and cost exactly: costs as pico-units (bigint), seconds as milliseconds,
 * so a total of thousands of small amounts is the sum of its lines to the last digit.
 */
export class UsageTotals {
  private readonly sums = new Map<string, number>();
  private cost: { amount: DecimalAmount; currency: string } | undefined;
  private uncosted = 0;

  add(usage: Usage | undefined, cost: Money | undefined): void {
    if (usage)
      for (const unit of USAGE_UNITS) {
        const value = usage[unit];
        // seconds may have decimals: summed as whole milliseconds so no float error piles up
        if (value !== undefined) this.sums.set(unit, (this.sums.get(unit) ?? 0) + (unit === "seconds" ? Math.round(value * 1000) : value));
      }
    const amount = cost ? parseDecimal(cost.amount) : undefined;
    if (cost && amount !== undefined && (this.cost === undefined || this.cost.currency === cost.currency))
      this.cost = { amount: (this.cost?.amount ?? 0n) + amount, currency: cost.currency };
    else if (usage) this.uncosted++;
  }

  total(): BatchTotals {
    const usage = Object.fromEntries([...this.sums].map(([unit, sum]) => [unit, unit === "seconds" ? sum / 1000 : sum])) as UsageTotal;
    return {
      usage,
      cost: this.cost ? { amount: formatDecimal(this.cost.amount), currency: this.cost.currency } : undefined,
      uncosted: this.uncosted,
    };
  }
}
