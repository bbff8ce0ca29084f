import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { DurationStatsStore } from "../../src/polling/duration-stats-store.js";
import { useTestRedis } from "../support/test-redis.js";

const { prefix, redis: testRedis } = useTestRedis();
let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});

/** The same update in JavaScript, to check the Lua against. */
function reference(xs: number[], minWeight: number) {
  let n = 0;
  let mean = 0;
  let variance = 0;
  for (const x of xs) {
    const alpha = Math.max(1 / (n + 1), minWeight);
    const diff = x - mean;
    mean += alpha * diff;
    variance = (1 - alpha) * (variance + diff * alpha * diff);
    n++;
  }
  return { n, mean, variance };
}

describe("DurationStatsStore", () => {
  it("keeps an exponentially weighted mean and variance of ln(duration ÷ size) per provider and model, in Redis", async () => {
    const store = new DurationStatsStore(redis, prefix);
    const model = `m-${randomUUID()}`;
    expect(await store.get("tokenhub", model)).toBeUndefined();
    const durations = [20_000, 40_000, 30_000, 60_000, 25_000];
    for (const d of durations) await store.record("tokenhub", model, d * 2, 2);
    const expected = reference(durations.map(Math.log), 0.05);
    // a second process, with nothing cached, reads what the first wrote
    const fresh = await new DurationStatsStore(redis, prefix).get("tokenhub", model);
    expect(fresh!.n).toBe(5);
    expect(fresh!.mean).toBeCloseTo(expected.mean, 12);
    expect(fresh!.variance).toBeCloseTo(expected.variance, 12);
    // a few bytes: three short fields, with an expiry
    const key = store.keyOf("tokenhub", model);
    expect(await redis.hlen(key)).toBe(3);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await new DurationStatsStore(redis, prefix).get("gateway", model)).toBeUndefined();
  });

  it("forgets old durations: after a model gets faster, the mean follows", async () => {
    const store = new DurationStatsStore(redis, prefix, { minWeight: 0.1 });
    const model = `m-${randomUUID()}`;
    for (let i = 0; i < 50; i++) await store.record("tokenhub", model, 120_000);
    for (let i = 0; i < 40; i++) await store.record("tokenhub", model, 30_000);
    const stats = await store.get("tokenhub", model);
    expect(Math.exp(stats!.mean)).toBeGreaterThan(30_000);
    expect(Math.exp(stats!.mean)).toBeLessThan(32_000);
    expect(stats!.n).toBe(90);
  });

  it("loses no update when many workers record at once", async () => {
    const stores = Array.from({ length: 4 }, () => new DurationStatsStore(redis, prefix));
    const model = `m-${randomUUID()}`;
    await Promise.all(Array.from({ length: 200 }, (_, i) => stores[i % 4]!.record("tokenhub", model, 10_000)));
    const stats = await new DurationStatsStore(redis, prefix).get("tokenhub", model);
    expect(stats).toEqual({ n: 200, mean: expect.closeTo(Math.log(10_000), 9), variance: expect.closeTo(0, 9) });
  });

  it("caches reads for cacheMs and ignores a hash it cannot read", async () => {
    const store = new DurationStatsStore(redis, prefix, { cacheMs: 1000 });
    const model = `m-${randomUUID()}`;
    const key = store.keyOf("tokenhub", model);
    await redis.hset(key, "n", "3", "mean", "not a number", "variance", "0");
    expect(await store.get("tokenhub", model, 0)).toBeUndefined();
    await redis.hset(key, "mean", "9.5");
    // still the cached answer within cacheMs, the new one after it
    expect(await store.get("tokenhub", model, 500)).toBeUndefined();
    expect(await store.get("tokenhub", model, 1500)).toEqual({ n: 3, mean: 9.5, variance: 0 });
  });

  it("records nothing for a duration or size that is not positive", async () => {
    const store = new DurationStatsStore(redis, prefix);
    const model = `m-${randomUUID()}`;
    expect(await store.record("tokenhub", model, 0)).toBeUndefined();
    expect(await store.record("tokenhub", model, 1000, 0)).toBeUndefined();
    expect(await redis.exists(store.keyOf("tokenhub", model))).toBe(0);
  });
});
