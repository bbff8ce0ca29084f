import { Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";

describe("per-provider limits", () => {
  let h: KilnHarness;
  const processes: WorkerProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await h.close();
  });

  it("three worker processes together never have more provider tasks in flight than KILN_GATEWAY_MAX_INFLIGHT", async () => {
    h = await new KilnHarness().start({
      workers: false,
      simulator: { durationsMs: { image: 300, video: 700, "3d": 700 } },
      env: { KILN_GATEWAY_MAX_INFLIGHT: "2", KILN_POLL_SCALE: "0.03" },
    });
    for (let i = 0; i < 3; i++) processes.push(await new WorkerProcess(h.rawEnv).start());
    const ids = await Promise.all(
      Array.from({ length: 8 }, () => h.client.enqueue(h.chatRequest("gateway", "wan2.7-t2v", { duration: 5 }))),
    );
    const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 60_000 })));
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));
    expect(h.simulator.stats().submissions).toHaveLength(8);
    // the cap was reached (the processes did run tasks side by side) and never exceeded
    expect(h.simulator.stats().maxOpen).toBe(2);
  }, 90_000);

  it("a per-model cap holds that model to its own limit while other models run", async () => {
    h = await new KilnHarness().start({
      simulator: { durationsMs: { image: 300, video: 600, "3d": 600 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT_HY_VIDEO_1_5: "1" },
    });
    const capped = await Promise.all(Array.from({ length: 4 }, () => h.client.enqueue(h.request("hy-video-1.5"))));
    const free = await Promise.all(
      Array.from({ length: 4 }, () =>
        h.client.enqueue(h.request("yt-video-fx", { template: "hug", images: [{ url: "https://example.com/a.png" }] })),
      ),
    );
    const statuses = await Promise.all([...capped, ...free].map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    expect(statuses.every((s) => s.state === "completed")).toBe(true);
    expect(h.simulator.book.openByModel.get("hy-video-1.5")!.maxOpen).toBe(1);
    expect(h.simulator.book.openByModel.get("yt-video-fx")!.maxOpen).toBeGreaterThan(1);
  });

  /** Counts the moments (every 20 ms) the TokenHub queue is paused by a 429 (BullMQ's queue rate limit). */
  function pauseWatch() {
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    let paused = 0;
    // the limiter BullMQ always has counts up to 10,000 a second: only a 429's pause fills it
    const watch = setInterval(() => void queue.getRateLimitTtl(10_000).then((ttl) => (paused += ttl > 0 ? 1 : 0)), 20);
    return {
      async stop() {
        clearInterval(watch);
        await queue.close();
        return paused;
      },
    };
  }

  it("a 429 storm on submit delays the queue but loses nothing and submits each task once", async () => {
    h = await new KilnHarness().start({ simulator: { rateLimitRate: 0.35, retryAfterSeconds: 1 } });
    const paused = pauseWatch();
    const ids = await Promise.all(Array.from({ length: 10 }, () => h.client.enqueue(h.request("hy-image-v3.0"))));
    const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 60_000 })));
    // without a rate of kiln's own, the 429 pauses the whole queue
    expect(await paused.stop()).toBeGreaterThan(0);
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));
    expect(h.simulator.stats().rejected).toBeGreaterThan(0);
    const prompts = h.simulator.stats().submissions.map((s) => s.prompt);
    expect(prompts).toHaveLength(10);
    expect(new Set(prompts).size).toBe(10);
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      for (const id of ids) expect((await queue.getJob(id))!.stacktrace).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 90_000);

  it("with KILN_TOKENHUB_RATE set, a 429 on submit holds back its job only: the queue is never paused", async () => {
    h = await new KilnHarness().start({ simulator: { rateLimitRate: 0.35, retryAfterSeconds: 1 }, env: { KILN_TOKENHUB_RATE: "100" } });
    const paused = pauseWatch();
    const ids = await Promise.all(Array.from({ length: 10 }, () => h.client.enqueue(h.request("hy-image-v3.0"))));
    const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 60_000 })));
    expect(await paused.stop()).toBe(0);
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));
    expect(h.simulator.stats().rejected).toBeGreaterThan(0);
    expect(new Set(h.simulator.stats().submissions.map((s) => s.prompt)).size).toBe(10);
  }, 90_000);

  it("KILN_WCODE_RATE caps provider requests per second across the queue", async () => {
    h = await new KilnHarness().start({ env: { KILN_WCODE_RATE: "5" } });
    const ids = await Promise.all(Array.from({ length: 15 }, () => h.client.enqueue(h.chatRequest("wcode", "hunyuan-lite"))));
    await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    const times = h.simulator
      .stats()
      .submissions.map((s) => s.at)
      .sort((a, b) => a - b);
    // 15 requests at 5 per second need three one-second windows: the last starts ≥ 2 s after the first
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1800);
  });

  it("KILN_TOKENHUB_RATE holds submits and polls together, across partitions", async () => {
    h = await new KilnHarness().start({
      simulator: { durationsMs: { image: 1500, video: 1500, "3d": 1500 } },
      env: { KILN_TOKENHUB_RATE: "5", KILN_PARTITIONS: "3" },
    });
    const ids = await Promise.all(Array.from({ length: 8 }, () => h.client.enqueue(h.request("hy-image-v3.0"))));
    for (const id of ids) expect((await h.client.waitFor(id, { timeoutMs: 30_000 })).state).toBe("completed");
    const requests = [...h.simulator.stats().submissions.map((s) => s.at), ...h.simulator.queryTimes()].sort((a, b) => a - b);
    // polls at this scale would come every few ms: the rate is what spaces them
    expect(requests.length).toBeGreaterThan(16);
    // at most 5 in any second (950 ms: the simulator sees each request a few ms after kiln took its room)
    const busiest = Math.max(...requests.map((at) => requests.filter((t) => t >= at && t < at + 950).length));
    expect(busiest).toBeLessThanOrEqual(5);
  });

  it("a provider limited to 5 requests/s answers 429 beyond them; kiln at KILN_TOKENHUB_RATE=5 meets none", async () => {
    h = await new KilnHarness().start({
      simulator: { ratePerSecond: 5, durationsMs: { image: 1500, video: 1500, "3d": 1500 } },
      env: { KILN_TOKENHUB_RATE: "5" },
    });
    // the simulator's limit is real: a burst of 7 calls, 2 refused
    const submit = () =>
      fetch(`${h.rawEnv.TOKENHUB_BASE_URL}/v1/api/image/submit`, {
        method: "POST",
        headers: { authorization: `Bearer ${h.rawEnv.TOKENHUB_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "hy-image-v3.0", prompt: "burst" }),
      }).then((res) => res.status);
    const burst = await Promise.all(Array.from({ length: 7 }, submit));
    expect(burst.filter((status) => status === 429)).toHaveLength(2);
    expect(h.simulator.stats().rateLimited).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const ids = await Promise.all(Array.from({ length: 8 }, () => h.client.enqueue(h.request("hy-image-v3.0"))));
    for (const id of ids) expect((await h.client.waitFor(id, { timeoutMs: 30_000 })).state).toBe("completed");
    expect(h.simulator.stats().rateLimited).toBe(2);
  });

  it("the deadline counts from the submit: jobs waiting behind a cap longer than KILN_DEADLINE_IMAGE still complete", async () => {
    // each task takes 1.2 s and one runs at a time, so the fourth waits about 3.6 s for its slot: longer than the 2.5 s deadline
    h = await new KilnHarness().start({
      simulator: { durationsMs: { image: 1200, video: 1200, "3d": 1200 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "1", KILN_DEADLINE_IMAGE: "2.5s" },
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await h.client.enqueue(h.request("hy-image-v3.0")));
    const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    expect(statuses.map((s) => s.result?.error?.code ?? s.state)).toEqual(ids.map(() => "completed"));
    const submitted = h.simulator
      .stats()
      .submissions.map((s) => s.at)
      .sort((a, b) => a - b);
    expect(submitted.at(-1)! - submitted[0]!).toBeGreaterThan(2500);
  }, 60_000);

  it("KILN_DEADLINE_IMAGE ends a task that runs longer than it, counted from its submit", async () => {
    h = await new KilnHarness().start({
      simulator: { durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } },
      env: { KILN_DEADLINE_IMAGE: "1.5s" },
    });
    const id = await h.client.enqueue(h.request("hy-image-v3.0"));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.result?.error).toMatchObject({ code: "timed_out" });
  });
});
