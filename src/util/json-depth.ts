/** How deep a JSON value kiln accepts (a request's `input` or `metadata`, a batch's `metadata`) may nest. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests more than `limit` objects or arrays deep (`{}` is 1, a scalar 0).
 * Iterative, and it stops at the first branch past the limit: it must hold for values that
 * would overflow the stack of any recursive walk (isDeepStrictEqual, JSON.stringify), which is
 * what it protects them from. A cyclic value counts as too deep.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== "object" || next.value === null) continue;
    if (next.depth >= limit) return true;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}
