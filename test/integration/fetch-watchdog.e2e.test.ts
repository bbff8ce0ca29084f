import { Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { sample } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { startObservedWorkers, startQuickHarness } from "../support/observed-workers.js";

describe("the fetch watchdog", () => {
  let h: KilnHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("recreates a generation worker whose fetch loop hangs while jobs are due: they run, it is logged and counted", async () => {
    h = await startQuickHarness({ KILN_FETCH_WATCHDOG: "2s" });
    const { workers, metrics, lines } = await startObservedWorkers(h);
    try {
      const generation = workers.generation.find((g) => g.queueName === "generate-tokenhub")!;
      const stuck = generation.worker;
      // what a Redis Cluster failover did to BullMQ's blocking fetch: the call never returns, pings still succeed
      const backend = (stuck as unknown as { backend: { waitForJob: () => Promise<unknown> } }).backend;
      backend.waitForJob = () => new Promise(() => undefined);
      // the fetch in progress ends with this job; every later one hangs
      const first = await h.client.enqueue(h.request("hy-image-v3.0"));
      expect((await h.client.waitFor(first, { timeoutMs: 15_000 })).state).toBe("completed");
      const startedAt = Date.now();
      const ids = await Promise.all(Array.from({ length: 3 }, () => h!.client.enqueue(h!.request("hy-image-v3.0"))));
      for (const id of ids) expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state, id).toBe("completed");
      // 2 s of due work, a look every 500 ms, then the jobs themselves
      expect(Date.now() - startedAt).toBeLessThan(12_000);
      expect(generation.worker).not.toBe(stuck);
      expect(generation.worker.isRunning()).toBe(true);
      expect(sample(await metrics.text(), "kiln_worker_recoveries_total", { queue: "generate-tokenhub" })).toBe(1);
      expect(lines.some((l) => l.includes('"event":"worker_stalled"'))).toBe(true);
    } finally {
      metrics.close();
    }
  }, 60_000);

  it("recreates a webhook worker whose fetch loop hangs while deliveries are due: they arrive", async () => {
    h = await startQuickHarness({ KILN_FETCH_WATCHDOG: "2s" });
    const { workers, metrics } = await startObservedWorkers(h);
    try {
      const webhooks = workers.webhooks[0]!;
      const stuck = webhooks.worker;
      (stuck as unknown as { backend: { waitForJob: () => Promise<unknown> } }).backend.waitForJob = () => new Promise(() => undefined);
      const delivered = (id: string) => h!.receiver.of(id).some((d) => d.payload.type === "generation.completed");
      // the fetch in progress ends with this delivery; every later one hangs
      const first = await h.client.enqueue(h.request("hy-image-v3.0"));
      await h.receiver.waitFor(() => delivered(first));
      const second = await h.client.enqueue(h.request("hy-image-v3.0"));
      expect((await h.client.waitFor(second, { timeoutMs: 15_000 })).state).toBe("completed");
      await h.receiver.waitFor(() => delivered(second), 15_000);
      expect(webhooks.worker).not.toBe(stuck);
      expect(sample(await metrics.text(), "kiln_worker_recoveries_total", { queue: "webhooks" })).toBe(1);
    } finally {
      metrics.close();
    }
  }, 60_000);

  it("leaves alone a worker that is idle, or whose queue is rate limited", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 200, video: 200, "3d": 200 } },
      // shorter than the idle wait and the rate limit below, longer than a fetch after the limit ends
      env: { KILN_FETCH_WATCHDOG: "2s" },
    });
    const generation = h.workers!.generation.find((g) => g.queueName === "generate-tokenhub")!;
    const worker = generation.worker;
    let recoveries = 0;
    generation.onRecovery(() => recoveries++);
    const limited = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      // a 429 pauses the queue: a job waits and nothing is fetched, rightly
      await limited.rateLimit(4_000);
      const id = await h.client.enqueue(h.request("hy-image-v3.0"));
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await h.client.waitFor(id, { timeoutMs: 15_000 })).state).toBe("completed");
      expect(recoveries).toBe(0);
      expect(generation.worker).toBe(worker);
    } finally {
      await limited.close();
    }
  }, 60_000);
});
