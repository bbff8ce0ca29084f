import { describe, expect, it } from "vitest";
import { ArchiveMemoryBudget } from "../../src/storage/archive-memory-budget.js";

const MiB = 1024 * 1024;
const settled = () => new Promise((r) => setImmediate(r));

describe("ArchiveMemoryBudget", () => {
  it("hands out buffers up to its limit; the next request waits until one is given back", async () => {
    const budget = new ArchiveMemoryBudget(10 * MiB);
    const a = await budget.take(5 * MiB);
    const b = await budget.take(5 * MiB);
    let third: Buffer | undefined;
    void budget.take(5 * MiB).then((buffer) => (third = buffer));
    await settled();
    expect(third).toBeUndefined();
    expect(budget.waitingCount).toBe(1);
    budget.give(a);
    await settled();
    // the freed buffer itself is reused for the waiting part
    expect(third).toBe(a);
    expect(budget.peakBytes).toBe(10 * MiB);
    budget.give(b);
    budget.give(third!);
    expect(budget.heldBytes).toBe(0);
  });

  it("serves waiting requests in order: a small one never overtakes a large one", async () => {
    const budget = new ArchiveMemoryBudget(10 * MiB);
    const held = await budget.take(6 * MiB);
    const order: string[] = [];
    const large = budget.take(8 * MiB).then((buffer) => (order.push("large"), buffer));
    const small = budget.take(1 * MiB).then((buffer) => (order.push("small"), buffer));
    await settled();
    // 1 MiB would fit beside the 6 MiB held, but the 8 MiB request asked first
    expect(order).toEqual([]);
    budget.give(held);
    budget.give(await large);
    budget.give(await small);
    expect(order).toEqual(["large", "small"]);
    expect(budget.peakBytes).toBeLessThanOrEqual(10 * MiB);
    expect(budget.heldBytes).toBe(0);
  });

  it("drops spare buffers of another size to make room, and refuses a part larger than the whole budget", async () => {
    const budget = new ArchiveMemoryBudget(10 * MiB);
    const keep = await budget.take(2 * MiB);
    budget.give(await budget.take(8 * MiB)); // kept as a spare while `keep` is in use
    expect(budget.heldBytes).toBe(10 * MiB);
    const other = await budget.take(6 * MiB);
    expect(budget.heldBytes).toBe(8 * MiB);
    budget.give(other);
    budget.give(keep);
    expect(budget.heldBytes).toBe(0);
    await expect(budget.take(11 * MiB)).rejects.toThrow(/cannot fit/);
  });
});
