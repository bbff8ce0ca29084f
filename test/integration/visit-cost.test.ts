import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startRedisProcess, type RedisProcessHandle } from "../../src/util/redis-process.js";
import { KilnHarness } from "../support/kiln-harness.js";

/** Every command the server runs from now until `stop`, as Redis's MONITOR reports it. */
async function monitor(url: string): Promise<{ commands: string[][]; stop(): Promise<void> }> {
  const redis = new Redis(url);
  const feed = await redis.monitor();
  const commands: string[][] = [];
  feed.on("monitor", (_time: string, args: string[]) => commands.push(args));
  return {
    commands,
    stop: async () => {
      feed.disconnect();
      await redis.quit();
    },
  };
}

/**
 * What a poll visit that finds the task still pending costs Redis, counted by Redis itself on a
 * server of the test's own, while one video is polled many times (KILN_POLL_SCALE 0.001 makes
 * production's 10 s first poll 10 ms).
 */
describe("a pending poll visit", () => {
  let h: KilnHarness | undefined;
  let redis: RedisProcessHandle | undefined;
  afterEach(async () => {
    await h?.close();
    await redis?.stop();
    h = redis = undefined;
  });

  it("reads the learned durations at most about once a second, however small KILN_POLL_SCALE", async () => {
    redis = await startRedisProcess();
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 300, video: 4_000, "3d": 300 } },
      env: { REDIS_URL: redis.url, KILN_POLL_SCALE: "0.001", KILN_POLL_SCHEDULE: "adaptive" },
    });
    // one image first, so the statistics exist and are read from Redis rather than found empty
    expect((await h.client.waitFor(await h.client.enqueue(h.request("hy-image-v3.0")), { timeoutMs: 20_000 })).state).toBe("completed");
    const watch = await monitor(redis.url);
    const queriesBefore = h.simulator.stats().queries;
    const started = Date.now();
    const id = await h.client.enqueue(h.request("hy-video-1.5"));
    expect((await h.client.waitFor(id, { timeoutMs: 30_000 })).state).toBe("completed");
    const seconds = (Date.now() - started) / 1000;
    await watch.stop();
    const polls = h.simulator.stats().queries - queriesBefore;
    const statsReads = watch.commands.filter(([name, key]) => name?.toLowerCase() === "hmget" && key?.includes(":duration-stats:")).length;
    console.log(`[visit-cost] ${polls} polls in ${seconds.toFixed(1)} s: ${statsReads} reads of the learned durations`);
    // many visits, or the figure below says nothing
    expect(polls).toBeGreaterThan(20);
    expect(statsReads).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
  }, 60_000);
});
