import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { prefixOf } from "../../src/queue/partitions.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { startObservedWorkers, startQuickHarness } from "../support/observed-workers.js";
import { eventually, sample } from "../fixtures/http-api-client.js";

const log = createLogger({ level: "silent" });

/** A request whose archive directory is a file: every archive attempt fails (ENOTDIR) until the archive deadline. */
async function blockedRequest(h: KilnHarness) {
  await writeFile(join(h.env.ARCHIVE_DIR, "blocked"), "not a directory");
  return h.request("hy-image-v3.0", {}, { archive: { prefix: "blocked" } });
}

describe("kiln_archive_oldest_seconds and kiln_generation_failures_total", () => {
  let h: KilnHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("show a job whose archive keeps failing, then 0 once it fails archive_failed, counted by its code", async () => {
    h = await startQuickHarness({ KILN_ARCHIVE_DEADLINE: "3s", KILN_DEADLINE_IMAGE: "3s" });
    const { metrics } = await startObservedWorkers(h);
    const id = await h.client.enqueue(await blockedRequest(h));
    await eventually(
      () => metrics.text(),
      (text) => (sample(text, "kiln_archive_oldest_seconds", { provider: "tokenhub" }) ?? 0) > 0,
    );
    expect((await h.client.waitFor(id, { timeoutMs: 30_000 })).result?.error?.code).toBe("archive_failed");
    const text = await metrics.text();
    expect(sample(text, "kiln_archive_oldest_seconds", { provider: "tokenhub" })).toBe(0);
    expect(sample(text, "kiln_generation_failures_total", { provider: "tokenhub", code: "archive_failed" })).toBe(1);
  }, 60_000);

  it("stop showing a watched job that left without this process seeing it finish (removed while parked)", async () => {
    h = await startQuickHarness({ KILN_ARCHIVE_DEADLINE: "1h" });
    const { metrics } = await startObservedWorkers(h);
    const id = await h.client.enqueue(await blockedRequest(h));
    await eventually(
      () => metrics.text(),
      (text) => (sample(text, "kiln_archive_oldest_seconds", { provider: "tokenhub" }) ?? 0) > 0,
    );
    const connection = new Redis(inject("redisUrl"));
    const queue = new Queue(generateQueueName("tokenhub"), { connection, prefix: prefixOf(id, h.prefix, h.env.KILN_PARTITIONS) });
    try {
      // refused while a visit holds the job's lock: tried again until it is parked between retries
      await eventually(
        () => queue.remove(id),
        (removed) => removed === 1,
      );
    } finally {
      await queue.close();
      await connection.quit();
    }
    await eventually(
      () => metrics.text(),
      (text) => sample(text, "kiln_archive_oldest_seconds", { provider: "tokenhub" }) === 0,
    );
  }, 60_000);
});

describe("kiln_inflight_slots, kiln_inflight_cap, kiln_inflight_waiting and kiln_workers_ready", () => {
  const h = new KilnHarness();
  afterAll(() => h.close());

  it("show a full provider cap with its line, an idle model cap, and the workers running until they close", async () => {
    await h.start({
      workers: false,
      archive: "local",
      simulator: { durationsMs: { image: 3_000, video: 3_000, "3d": 3_000 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "2", KILN_TOKENHUB_MAX_INFLIGHT_HY_VIDEO_1_5: "1" },
    });
    const { workers, metrics } = await startObservedWorkers(h);
    const ids = await Promise.all(Array.from({ length: 5 }, () => h.client.enqueue(h.request("hy-image-v3.0"))));
    const all = { provider: "tokenhub", model: "*" };
    const text = await eventually(
      () => metrics.text(),
      (t) => sample(t, "kiln_inflight_slots", all) === 2 && sample(t, "kiln_inflight_waiting", all) === 3,
    );
    expect(sample(text, "kiln_inflight_cap", all)).toBe(2);
    const video = { provider: "tokenhub", model: "HY_VIDEO_1_5" };
    expect([sample(text, "kiln_inflight_slots", video), sample(text, "kiln_inflight_cap", video)]).toEqual([0, 1]);
    expect(sample(text, "kiln_inflight_slots", { provider: "gateway", model: "*" })).toBeUndefined();
    expect(sample(text, "kiln_workers_ready", { queue: "generate-tokenhub" })).toBe(1);
    expect(sample(text, "kiln_workers_ready", { queue: "webhooks" })).toBe(1);

    await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 60_000 })));
    const after = await metrics.text();
    expect([sample(after, "kiln_inflight_slots", all), sample(after, "kiln_inflight_waiting", all)]).toEqual([0, 0]);

    await workers.close();
    h.workers = undefined;
    const closed = await metrics.text();
    expect(sample(closed, "kiln_workers_ready", { queue: "generate-tokenhub" })).toBe(0);
    expect(sample(closed, "kiln_workers_ready", { queue: "webhooks" })).toBe(0);
  }, 90_000);

  it("has no workers_ready series in a process without workers (kiln server)", async () => {
    const metrics = new KilnMetrics({ log, processMetrics: false });
    expect(await metrics.text()).not.toMatch(/^kiln_workers_ready\{/m);
  });
});

describe("kiln_redis_memory_used_bytes and kiln_redis_maxmemory_bytes", () => {
  const redis = new Redis(inject("redisUrl"));
  afterAll(() => redis.quit());

  it("read INFO memory of the server at scrape time", async () => {
    await redis.ping();
    const [, before] = (await redis.config("GET", "maxmemory")) as [string, string];
    await redis.config("SET", "maxmemory", String(3 * 1024 ** 3));
    try {
      const metrics = new KilnMetrics({ log, processMetrics: false, redis });
      const { host, port } = redis.options;
      const text = await metrics.text();
      const used = Number(/^used_memory:(\d+)/m.exec(await redis.info("memory"))![1]);
      expect(sample(text, "kiln_redis_maxmemory_bytes", { node: `${host}:${port}` })).toBe(3 * 1024 ** 3);
      const scraped = sample(text, "kiln_redis_memory_used_bytes", { node: `${host}:${port}` })!;
      // the same field read twice, a few commands apart
      expect(scraped).toBeGreaterThan(used / 2);
      expect(scraped).toBeLessThan(used * 2);
    } finally {
      await redis.config("SET", "maxmemory", before);
    }
  });

  it("answer a scrape without them while Redis is not connected", async () => {
    const offline = new Redis(inject("redisUrl"), { lazyConnect: true });
    const metrics = new KilnMetrics({ log, processMetrics: false, redis: offline });
    const text = await metrics.text();
    expect(text).toContain("# TYPE kiln_redis_memory_used_bytes gauge");
    expect(text).not.toMatch(/^kiln_redis_memory_used_bytes\{/m);
    offline.disconnect();
  });
});
