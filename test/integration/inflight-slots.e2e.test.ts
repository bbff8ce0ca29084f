import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { InflightSlots } from "../../src/inflight/inflight-slots.js";
import { cleanPrefix } from "../support/kiln-harness.js";

describe("InflightSlots: waiting lanes and hand-over", () => {
  let redis: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
  });
  afterAll(async () => {
    for (const prefix of prefixes) await cleanPrefix(inject("redisUrl"), prefix);
    await redis.quit();
  });

  function slots(caps: { provider?: number; models?: Record<string, number> }, grantTtlMs = 60_000, leaseMs = 60_000): InflightSlots {
    const prefix = `{slots-${randomUUID().slice(0, 8)}}`;
    prefixes.push(prefix);
    return new InflightSlots(
      redis,
      prefix,
      "tokenhub",
      { provider: caps.provider, models: new Map(Object.entries(caps.models ?? {})) },
      grantTtlMs,
      leaseMs,
    );
  }

  it("hands freed slots to waiters in enqueue order, whatever order they arrived in", async () => {
    const s = slots({ provider: 1 });
    expect((await s.acquire("a", "hy-image-v3.0", 100)).held).toBe(true);
    // arrivals out of enqueue order
    for (const [id, at] of [
      ["d", 400],
      ["b", 200],
      ["c", 300],
    ] as const)
      expect((await s.acquire(id, "hy-image-v3.0", at)).held).toBe(false);
    expect(await s.waiting()).toBe(3);
    // places in line, for each waiter's own re-check
    expect(await Promise.all(["b", "c", "d", "a"].map((id) => s.ahead(id)))).toEqual([0, 1, 2, 0]);
    const order: string[] = [];
    let holder = "a";
    for (let i = 0; i < 3; i++) {
      const granted = await s.release(holder);
      expect(granted).toHaveLength(1);
      holder = granted[0]!;
      order.push(holder);
      expect((await s.acquire(holder, "hy-image-v3.0", 0)).held).toBe(true);
    }
    expect(order).toEqual(["b", "c", "d"]);
    expect(await s.waiting()).toBe(0);
  });

  it("an arriving job never takes a slot ahead of a waiter; the waiter gets it", async () => {
    const s = slots({ provider: 1 });
    await s.acquire("a", "hy-image-v3.0", 100);
    await s.acquire("b", "hy-image-v3.0", 200);
    expect(await s.release("a")).toEqual(["b"]);
    // the slot is b's until b claims it (or the grant lapses)
    expect((await s.acquire("late", "hy-image-v3.0", 50)).held).toBe(false);
    expect((await s.acquire("b", "hy-image-v3.0", 200)).held).toBe(true);
    expect(await s.inUse()).toBe(1);
  });

  it("jobs enqueued in the same millisecond keep their order of arrival", async () => {
    const s = slots({ provider: 1 });
    await s.acquire("holder", "hy-image-v3.0", 1);
    for (const id of ["x3", "x1", "x2"]) await s.acquire(id, "hy-image-v3.0", 500);
    const order: string[] = [];
    let holder = "holder";
    for (let i = 0; i < 3; i++) {
      holder = (await s.release(holder))[0]!;
      order.push(holder);
      await s.acquire(holder, "hy-image-v3.0", 500);
    }
    expect(order).toEqual(["x3", "x1", "x2"]);
  });

  it("a model at its own cap does not hold back other models waiting for the provider's slots", async () => {
    const s = slots({ provider: 2, models: { HY_VIDEO_1_5: 1 } });
    expect((await s.acquire("v1", "hy-video-1.5", 1)).held).toBe(true);
    expect((await s.acquire("i1", "hy-image-v3.0", 2)).held).toBe(true);
    // both scopes are now full; an older video and a newer image wait in their own lanes
    expect((await s.acquire("v2", "hy-video-1.5", 3)).held).toBe(false);
    expect((await s.acquire("i2", "hy-image-v3.0", 4)).held).toBe(false);
    // an image ends: its provider slot cannot go to v2 (the video cap is still full), so i2 gets it
    expect(await s.release("i1")).toEqual(["i2"]);
    // the video ends: v2, the oldest that fits, gets both of its slots
    expect(await s.acquire("i2", "hy-image-v3.0", 4)).toEqual({ held: true, granted: [] });
    expect(await s.release("v1")).toEqual(["v2"]);
    expect(await s.inUse("hy-video-1.5")).toBe(1);
    expect(await s.inUse()).toBe(2);
  });

  it("a slot handed to a job that never claims it lapses and is handed to the same job again", async () => {
    const s = slots({ provider: 1 }, 200);
    await s.acquire("a", "hy-image-v3.0", 1);
    await s.acquire("b", "hy-image-v3.0", 2);
    await s.acquire("c", "hy-image-v3.0", 3);
    // the releaser crashes before waking b
    expect(await s.release("a")).toEqual(["b"]);
    expect((await s.sweep()).granted).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    // b keeps its place ahead of c and is handed the slot again, for the sweeper to wake
    expect((await s.sweep()).granted).toEqual(["b"]);
    expect(await s.waiting()).toBe(1);
  });

  it("a waiter that leaves (cancelled, removed) passes its turn and a slot handed to it", async () => {
    const s = slots({ provider: 1 });
    await s.acquire("a", "hy-image-v3.0", 1);
    await s.acquire("b", "hy-image-v3.0", 2);
    await s.acquire("c", "hy-image-v3.0", 3);
    await s.acquire("d", "hy-image-v3.0", 4);
    expect(await s.release("c")).toEqual([]);
    expect(await s.release("a")).toEqual(["b"]);
    expect(await s.release("b")).toEqual(["d"]);
  });

  it("a holder whose lease is over is only reported: reclaimed, its slot goes to the next waiter; renewed or claimed again, it keeps it", async () => {
    const s = slots({ provider: 2 }, 60_000, 100);
    await s.acquire("lost", "hy-image-v3.0", 1);
    await s.acquire("alive", "hy-image-v3.0", 2);
    await s.acquire("next", "hy-image-v3.0", 3);
    await new Promise((r) => setTimeout(r, 200));
    // nothing is dropped by the lapse itself: Redis cannot tell whether the job still waits on its task
    expect((await s.sweep()).granted).toEqual([]);
    expect((await s.lapsed()).sort()).toEqual(["alive", "lost"]);
    await s.renew("alive");
    // claimed again since it was found lapsed: the reclaim does not take it
    await s.acquire("lost", "hy-image-v3.0", 1);
    expect(await s.reclaim("lost")).toEqual({ reclaimed: false, granted: [] });
    await new Promise((r) => setTimeout(r, 200));
    expect(await s.reclaim("lost")).toEqual({ reclaimed: true, granted: ["next"] });
    expect(await s.lapsed()).toEqual(["alive"]);
    expect(await s.inUse()).toBe(2);
  });
});
