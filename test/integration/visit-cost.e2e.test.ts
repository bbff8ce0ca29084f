import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startRedisProcess, type RedisProcessHandle } from "@kiln/dev-tools";
import { KilnHarness } from "../support/kiln-harness.js";
import { monitorRedis } from "../support/redis-monitor.js";
import { STATE_FIELD } from "../../src/queue/kiln-job.js";
import { Queue } from "bullmq";
import { historyOf } from "../../src/webhooks/dead-letter.js";
import type { WebhookJob } from "../../src/queue/webhook-queue.js";
import { WEBHOOKS_QUEUE } from "../../src/contract/queue-names.js";

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
      simulator: { durationsMs: { image: 300, video: 8_000, "3d": 300 } },
      env: { REDIS_URL: redis.url, KILN_POLL_SCALE: "0.001", KILN_POLL_SCHEDULE: "adaptive" },
    });
    // one image first, so the statistics exist and are read from Redis rather than found empty
    expect((await h.client.waitFor(await h.client.enqueue(h.request("hy-image-v3.0")), { timeoutMs: 20_000 })).state).toBe("completed");
    const watch = await monitorRedis(redis.url);
    const queriesBefore = h.simulator.stats().queries;
    const started = Date.now();
    const id = await h.client.enqueue(h.request("hy-video-1.5"));
    expect((await h.client.waitFor(id, { timeoutMs: 30_000 })).state).toBe("completed");
    const seconds = (Date.now() - started) / 1000;
    await watch.stop();
    const polls = h.simulator.stats().queries - queriesBefore;
    const statsReads = watch.commands.filter(
      ({ args: [name, key] }) => name?.toLowerCase() === "hmget" && key?.includes(":duration-stats:"),
    ).length;
    console.log(`[visit-cost] ${polls} polls in ${seconds.toFixed(1)} s: ${statsReads} reads of the learned durations`);
    // about once a second: a read on every visit would be at least twice this many
    const readsAllowed = Math.ceil(seconds) + 2;
    expect(polls).toBeGreaterThanOrEqual(2 * readsAllowed);
    expect(statsReads).toBeLessThanOrEqual(readsAllowed);
  }, 60_000);

  it("a whole image lifecycle writes its state four times and its delivered webhook's data never", async () => {
    redis = await startRedisProcess();
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 0, video: 4_000, "3d": 300 } },
      env: { REDIS_URL: redis.url, KILN_POLL_SCALE: "0.001" },
    });
    const watch = await monitorRedis(redis.url);
    const id = await h.client.enqueue({ ...h.request("hy-image-v3.0"), webhook: { url: h.receiver.url } });
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    await h.receiver.waitFor((received) => received.some((r) => r.payload.type === "generation.completed"));
    await new Promise((r) => setTimeout(r, 300));
    await watch.stop();
    const hsets = watch.commands.map((c) => c.args).filter(([name]) => name?.toLowerCase() === "hset");
    const stateWrites = hsets.filter(([, key, field]) => key?.endsWith(`:${id}`) && field === STATE_FIELD).length;
    const deliveryDataWrites = hsets.filter(([, key, field]) => key?.includes(":webhooks:") && field === "data").length;
    console.log(`[visit-cost] one image lifecycle: ${stateWrites} state writes, ${deliveryDataWrites} rewrites of its delivery's data`);
    // the submit call counted, the task id, the poll's answer (outputs to archive), the archived output with the notify step
    expect(stateWrites).toBe(4);
    expect(deliveryDataWrites).toBe(0);
    // the attempt that delivered it is still in the delivery's history
    const connection = new Redis(redis.url);
    const webhooks = new Queue(WEBHOOKS_QUEUE, { connection, prefix: h.prefix });
    const delivered = (await webhooks.getCompleted()) as WebhookJob[];
    await webhooks.close();
    await connection.quit();
    expect(delivered.map((job) => historyOf(job))).toEqual([[expect.objectContaining({ status: 204 })]]);
  }, 60_000);
});
