import { describe, expect, it } from "vitest";
import { MAX_RECHECK_MS, slotRecheckDelayMs } from "../../src/inflight/slot-recheck.js";

/** Re-checks per second of a whole line of `n` waiters, each looking again after its own delay. */
function recheckRate(n: number, leaseMs: number): number {
  let rate = 0;
  for (let ahead = 0; ahead < n; ahead++) rate += 1000 / slotRecheckDelayMs(ahead, leaseMs);
  return rate;
}

describe("slotRecheckDelayMs", () => {
  it("has the head of the line and the next few look again every lease", () => {
    expect(slotRecheckDelayMs(0, 25_000)).toBe(25_000);
    expect(slotRecheckDelayMs(5, 25_000)).toBe(37_500);
  });

  it("never leaves a waiter without a look of its own for more than an hour", () => {
    expect(slotRecheckDelayMs(10_000_000, 25_000)).toBe(MAX_RECHECK_MS);
  });

  it("costs a line of 100,000 waiters tens of visits a second, not one per waiter per lease (4,000/s)", () => {
    expect(recheckRate(100_000, 25_000)).toBeLessThan(40);
    // a short line pays about what it did: its head looks every lease
    expect(recheckRate(4, 25_000)).toBeGreaterThan(0.12);
  });
});
