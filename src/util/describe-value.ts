/** A plain object (not null, not an array): what job data and request bodies must be. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A short, safe description of any value for an error message: strings quoted and cut at 100
 * characters, other values by type. Never throws, whatever the value (null prototypes, objects
 * whose toString throws, symbols).
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return `a ${typeof value}`;
}
