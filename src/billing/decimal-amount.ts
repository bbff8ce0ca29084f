/**
 * Exact money arithmetic: an amount is a bigint count of pico-units (10^-12 of the currency).
 * Prices carry at most 9 decimals, so a price per 1,000 tokens times a token count, or a price
 * per second times milliseconds, is still a whole number of pico-units: no rounding, no float.
 */
export type DecimalAmount = bigint;

/** Decimals a price or budget may carry. */
export const MAX_PRICE_DECIMALS = 9;
const SCALE_DIGITS = 12;
const SCALE = 10n ** BigInt(SCALE_DIGITS);

/** Digits, an optional point and up to twelve decimals. */
const DECIMAL = /^(\d{1,12})(?:\.(\d{1,12}))?$/;

/**
 * `"0.0008"`, `0.2` or `"25"` as pico-units; undefined when it is not a plain non-negative
 * decimal of at most `maxDecimals` decimals. A JSON or YAML number is read through its shortest
 * decimal form (`String(0.1)` is `"0.1"`), which is the literal the operator wrote.
 */
export function parseDecimal(value: string | number, maxDecimals = SCALE_DIGITS): DecimalAmount | undefined {
  const text = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : value.trim();
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, whole = "0", fraction = ""] = match;
  if (fraction.length > maxDecimals) return undefined;
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(SCALE_DIGITS, "0"));
}

/** Pico-units as a decimal string with at least two decimals and no trailing zeros past them: `"0.12"`, `"25.00"`, `"0.000254"`. */
export function formatDecimal(amount: DecimalAmount): string {
  const whole = amount / SCALE;
  const fraction = (amount % SCALE).toString().padStart(SCALE_DIGITS, "0").replace(/0+$/, "");
  return `${whole}.${fraction.padEnd(2, "0")}`;
}

/** Rounds up to whole units of 10^-`decimals` (the budget ledger keeps nano-units in Redis integers). */
export function toScaledCeil(amount: DecimalAmount, decimals: number): bigint {
  const step = 10n ** BigInt(SCALE_DIGITS - decimals);
  return (amount + step - 1n) / step;
}

/** The inverse of `toScaledCeil`. */
export function fromScaled(units: bigint, decimals: number): DecimalAmount {
  return units * 10n ** BigInt(SCALE_DIGITS - decimals);
}
