import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { InflightSlots } from "../../src/inflight/inflight-slots.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { sample } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { startObservedWorkers, startQuickHarness } from "../support/observed-workers.js";
import { until } from "../support/until.js";

// On one Redis, with KILN_POLL_SCALE 0.02: the lease (25 s) and a waiting job's re-check become
// their 1 s floor, the sweep runs every 250 ms, the grant TTL is 1.2 s.
describe("in-flight slots are leases", () => {
  let h: KilnHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("a slot whose holder job is gone is reclaimed within the lease, counted and logged, and the waiting job runs", async () => {
    h = await startQuickHarness({ KILN_TOKENHUB_MAX_INFLIGHT: "1" });
    const redis = new Redis(h.env.REDIS_URL);
    let metrics: KilnMetrics | undefined;
    try {
      // a holder that took the only slot and was lost (its job removed, or never stored after a failover)
      const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 1, models: new Map() }, 60_000, 1_000);
      expect((await slots.acquire("ghost", "hy-image-v3.0", 1)).held).toBe(true);
      const observed = await startObservedWorkers(h);
      metrics = observed.metrics;
      const startedAt = Date.now();
      const id = await h.client.enqueue(h.request("hy-image-v3.0"));
      expect((await h.client.waitFor(id, { timeoutMs: 15_000 })).state).toBe("completed");
      // the lease (1 s) plus a sweep (250 ms), with room for a loaded machine; the ghost's old lapse was its deadline
      expect(Date.now() - startedAt).toBeLessThan(6_000);
      expect(await slots.inUse()).toBe(0);
      expect(sample(await metrics.text(), "kiln_slots_reclaimed_total", { provider: "tokenhub" })).toBe(1);
      expect(observed.lines.some((l) => l.includes('"event":"slot_reclaimed"') && l.includes('"jobId":"ghost"'))).toBe(true);
    } finally {
      metrics?.close();
      await redis.quit();
    }
  }, 60_000);

  it("a slot still listed for a finished job (its release lost) is reclaimed; a polling holder keeps its slot, renewed lease after lease", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      // the holder's task outlasts many leases: its slot must be renewed, never taken
      simulator: { durationsMs: { image: 200, video: 6_000, "3d": 200 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "2" },
    });
    const redis = new Redis(h.env.REDIS_URL);
    try {
      // the workers' lease: 25 s × 0.02, at its 1 s floor
      const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 2, models: new Map() }, 1_200, 1_000);
      const holder = await h.client.enqueue(h.request("hy-video-1.5"));
      await until("the holder's submit", () => h!.simulator.stats().submissions.length === 1, 10_000);
      // a finished job still listed as a holder: its release was lost
      const done = await h.client.enqueue(h.request("hy-image-v3.0"));
      expect((await h.client.waitFor(done, { timeoutMs: 10_000 })).state).toBe("completed");
      await slots.acquire(done, "hy-image-v3.0", 1);
      expect(await slots.inUse()).toBe(2);
      const waiter = await h.client.enqueue(h.request("hy-image-v3.0"));
      expect((await h.client.waitFor(waiter, { timeoutMs: 10_000 })).state).toBe("completed");
      // the video is still polling: several leases went by, its slot was renewed each time
      expect((await h.client.get(holder))?.state).not.toBe("completed");
      expect(await slots.inUse()).toBe(1);
      expect((await h.client.waitFor(holder, { timeoutMs: 20_000 })).state).toBe("completed");
      expect(h.simulator.stats().maxOpen).toBeLessThanOrEqual(2);
    } finally {
      await redis.quit();
    }
  }, 60_000);

  it("a waiting job whose place in line was lost still gets the slot, by its own re-check", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 200, video: 1_500, "3d": 200 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "1" },
    });
    const redis = new Redis(h.env.REDIS_URL);
    try {
      const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 1, models: new Map() });
      const holder = await h.client.enqueue(h.request("hy-video-1.5"));
      await until("the holder's submit", () => h!.simulator.stats().submissions.length === 1, 10_000);
      const waiter = await h.client.enqueue(h.request("hy-image-v3.0"));
      await until("the waiter in its lane", async () => (await slots.waiting()) === 1, 10_000);
      // its place lost (a write of the lane's master not replicated before a failover): the release wakes nobody
      await redis.zrem(`${h.prefix}:inflight:tokenhub:waiting`, waiter);
      expect((await h.client.waitFor(holder, { timeoutMs: 15_000 })).state).toBe("completed");
      // its safety net was an hour (72 s at this scale); the re-check is the lease's 1 s floor
      expect((await h.client.waitFor(waiter, { timeoutMs: 10_000 })).state).toBe("completed");
      expect(await slots.inUse()).toBe(0);
    } finally {
      await redis.quit();
    }
  }, 60_000);
});
