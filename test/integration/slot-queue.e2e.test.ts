import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { InflightSlots } from "../../src/inflight/inflight-slots.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";
import { until } from "../support/until.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Enqueues one at a time, each in a millisecond of its own (a lane orders by BullMQ's millisecond
 * timestamp, and ties by arrival at a worker, which BullMQ's concurrent fetches may shuffle);
 * returns the prompts in enqueue order.
 */
async function enqueueInOrder(
  h: KilnHarness,
  requests: Array<ReturnType<KilnHarness["request"]>>,
): Promise<{ ids: string[]; prompts: string[] }> {
  const ids: string[] = [];
  for (const request of requests) {
    const before = Date.now();
    ids.push(await h.client.enqueue(request));
    while (Date.now() === before) await sleep(1);
  }
  return { ids, prompts: requests.map((r) => r.input.prompt) };
}

/**
 * Slots are handed in enqueue order, but `cap` jobs handed slots at about the same moment then
 * race to their provider call; so each job is submitted fewer than `cap` places from its place
 * in the enqueue order. A lane out of order (by arrival, by id) moves jobs much further.
 */
function expectSubmittedInOrder(submitted: string[], enqueued: string[], cap: number): void {
  expect([...submitted].sort()).toEqual([...enqueued].sort());
  const displaced = enqueued
    .map((prompt, at) => ({ prompt, at, submittedAt: submitted.indexOf(prompt) }))
    .filter((p) => Math.abs(p.submittedAt - p.at) >= cap);
  expect(displaced).toEqual([]);
  if (cap === 1) expect(submitted).toEqual(enqueued);
}

describe("jobs waiting for an in-flight slot", () => {
  let h: KilnHarness | undefined;
  const processes: WorkerProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await h?.close();
    h = undefined;
  });

  it("are submitted in enqueue order behind a cap of 2, which holds, and all complete", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 200, video: 200, "3d": 200 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "2" },
    });
    const { ids, prompts } = await enqueueInOrder(
      h,
      Array.from({ length: 30 }, () => h!.request("hy-image-v3.0")),
    );
    const statuses = await Promise.all(ids.map((id) => h!.client.waitFor(id, { timeoutMs: 60_000 })));
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));
    expectSubmittedInOrder(
      h.simulator.stats().submissions.map((s) => s.prompt),
      prompts,
      2,
    );
    expect(h.simulator.stats().maxOpen).toBe(2);
  }, 90_000);

  it("under a provider cap and a model cap, each model keeps its own order and a full model holds back no other", async () => {
    // videos take twice as long as images, so the comparison below does not hang on which kind the poll schedule sees finish sooner
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 300, video: 600, "3d": 300 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "3", KILN_TOKENHUB_MAX_INFLIGHT_HY_VIDEO_1_5: "1" },
    });
    const requests = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? h!.request("hy-video-1.5") : h!.request("hy-image-v3.0")));
    const { ids, prompts } = await enqueueInOrder(h, requests);
    const statuses = await Promise.all(ids.map((id) => h!.client.waitFor(id, { timeoutMs: 60_000 })));
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));
    const submitted = h.simulator.stats().submissions;
    const videos = new Set(requests.filter((r) => r.model === "hy-video-1.5").map((r) => r.input.prompt));
    // videos run one at a time (model cap 1): exactly in order; images share the provider's 3 slots
    expectSubmittedInOrder(
      submitted.map((s) => s.prompt).filter((p) => videos.has(p)),
      prompts.filter((p) => videos.has(p)),
      1,
    );
    expectSubmittedInOrder(
      submitted.map((s) => s.prompt).filter((p) => !videos.has(p)),
      prompts.filter((p) => !videos.has(p)),
      3,
    );
    expect(h.simulator.stats().maxOpen).toBe(3);
    expect(h.simulator.book.openByModel.get("hy-video-1.5")!.maxOpen).toBe(1);
    // 16 images among 8 videos that run one at a time: in a single line the last image (enqueued last) would wait for every video
    const lastAt = (pick: (prompt: string) => boolean) => Math.max(...submitted.filter((s) => pick(s.prompt)).map((s) => s.at));
    const lastImage = lastAt((p) => !videos.has(p));
    const lastVideo = lastAt((p) => videos.has(p));
    expect(lastImage).toBeLessThan(lastVideo);
  }, 90_000);

  it("cost Redis no more with 500 waiting than with 50 between their re-checks", async () => {
    const rates: Record<number, number> = {};
    for (const waiting of [50, 500]) rates[waiting] = await commandsPerSecondWhile(waiting);
    console.log(`[slot-queue] Redis commands/s with jobs waiting behind a full cap of 2: ${JSON.stringify(rates)}`);
    expect(rates[500]!).toBeLessThan(2 * rates[50]!);
  }, 240_000);

  it("a slot handed to a waiter whose wake-up was lost reaches it after the grant lapses", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 200, video: 60_000, "3d": 60_000 } },
      // the waiter's own re-check an hour away (72 s at this scale): only the grant's lapse can wake it in time
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "1", KILN_SLOT_LEASE: "1h" },
    });
    const redis = new Redis(h.env.REDIS_URL);
    try {
      // the releaser's grant TTL: as the harness's workers use (60 s × KILN_POLL_SCALE 0.02, at least 1 s)
      const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 1, models: new Map() }, 1_200);
      const holder = await h.client.enqueue(h.request("hy-video-1.5"));
      await until("the holder's submit", () => h!.simulator.stats().submissions.length === 1, 10_000);
      const waiter = await h.client.enqueue(h.request("hy-image-v3.0"));
      await until("the waiter in its lane", async () => (await slots.waiting()) === 1, 10_000);
      // a releaser that dies before it wakes the job it handed the slot to
      expect(await slots.release(holder)).toEqual([waiter]);
      const status = await h.client.waitFor(waiter, { timeoutMs: 15_000 });
      expect(status.state).toBe("completed");
    } finally {
      await redis.quit();
    }
  }, 60_000);

  it("a waiter that is cancelled leaves the line at once and the next one is submitted in its place", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 1_500, video: 1_500, "3d": 1_500 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "1" },
    });
    const redis = new Redis(h.env.REDIS_URL);
    try {
      const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 1, models: new Map() });
      const { ids, prompts } = await enqueueInOrder(
        h,
        Array.from({ length: 3 }, () => h!.request("hy-image-v3.0")),
      );
      await until("two in line", async () => (await slots.waiting()) === 2, 10_000);
      await h.client.cancel(ids[1]!);
      expect((await h.client.waitFor(ids[1]!, { timeoutMs: 10_000 })).result?.error?.code).toBe("cancelled");
      expect(await slots.waiting()).toBe(1);
      expect((await h.client.waitFor(ids[2]!, { timeoutMs: 20_000 })).state).toBe("completed");
      expect(h.simulator.stats().submissions.map((s) => s.prompt)).toEqual([prompts[0], prompts[2]]);
      expect(await slots.waiting()).toBe(0);
    } finally {
      await redis.quit();
    }
  }, 60_000);

  it("a waiter removed from BullMQ passes its turn to the next one", async () => {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 1_000, video: 1_000, "3d": 1_000 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "1" },
    });
    const redis = new Redis(h.env.REDIS_URL);
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 1, models: new Map() });
      const { ids, prompts } = await enqueueInOrder(
        h,
        Array.from({ length: 3 }, () => h!.request("hy-image-v3.0")),
      );
      await until("two in line", async () => (await slots.waiting()) === 2, 10_000);
      // removed behind kiln's back: still in the line, but no job to wake. A waiter looks at the
      // line now and then (an active job is locked, and BullMQ does not remove it): try again then
      await until("the waiter removed", async () => (await queue.remove(ids[1]!)) === 1, 10_000);
      // the removed job's own safety net is 72 s away; the next one must not wait for it
      expect((await h.client.waitFor(ids[2]!, { timeoutMs: 15_000 })).state).toBe("completed");
      expect(h.simulator.stats().submissions.map((s) => s.prompt)).toEqual([prompts[0], prompts[2]]);
      expect(await slots.inUse()).toBe(0);
    } finally {
      await queue.close();
      await redis.quit();
    }
  }, 60_000);

  it("a worker process killed while jobs wait loses none of them", async () => {
    h = await new KilnHarness().start({
      workers: false,
      archive: "local",
      simulator: { durationsMs: { image: 400, video: 400, "3d": 400 } },
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "2" },
    });
    for (let i = 0; i < 2; i++) processes.push(await new WorkerProcess(h.rawEnv).start());
    const { ids, prompts } = await enqueueInOrder(
      h,
      Array.from({ length: 20 }, () => h!.request("hy-image-v3.0")),
    );
    const redis = new Redis(h.env.REDIS_URL);
    const slots = new InflightSlots(redis, h.prefix, "tokenhub", { provider: 2, models: new Map() });
    try {
      await until(
        "a few submissions with the rest in line",
        async () => h!.simulator.stats().submissions.length >= 4 && (await slots.waiting()) >= 10,
        30_000,
      );
    } finally {
      await redis.quit();
    }
    await processes[0]!.kill();
    const statuses = await Promise.all(ids.map((id) => h!.client.waitFor(id, { timeoutMs: 90_000 })));
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));
    const submitted = h.simulator.stats().submissions.map((s) => s.prompt);
    expect(new Set(submitted)).toEqual(new Set(prompts));
    // a kill during a submit the provider answered leaves that task open at the provider for
    // good (nobody knows its id; its job submits again, in its own slot): only those go past the cap
    const orphaned = submitted.length - prompts.length;
    expect(h.simulator.stats().maxOpen).toBeLessThanOrEqual(2 + orphaned);
  }, 120_000);

  /**
   * Redis commands per second over a 10 s window while `waiting` jobs wait behind two video
   * tasks that outlast the test (KILN_POLL_SCALE 0.2: production's delays divided by 5).
   */
  async function commandsPerSecondWhile(waiting: number): Promise<number> {
    h = await new KilnHarness().start({
      archive: "local",
      simulator: { durationsMs: { image: 600_000, video: 600_000, "3d": 600_000 } },
      // each waiting job looks again after the lease (here 10 min × 0.2, past the window): what is
      // measured is the cost of the line itself; the re-checks add one visit per job per lease
      env: { KILN_TOKENHUB_MAX_INFLIGHT: "2", KILN_POLL_SCALE: "0.2", KILN_SLOT_LEASE: "10m" },
    });
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    const redis = new Redis(h.env.REDIS_URL);
    try {
      const total = waiting + 2;
      for (let i = 0; i < total; i += 50)
        await Promise.all(Array.from({ length: Math.min(50, total - i) }, () => h!.client.enqueue(h!.request("hy-video-1.5"))));
      // every job has been looked at once: two submitted and polling, the rest waiting
      await until(
        "every job parked",
        async () => h!.simulator.stats().submissions.length === 2 && (await queue.getJobCounts("delayed")).delayed === total,
        30_000,
      ).catch(() => undefined);
      await sleep(1_000);
      const before = await commandsProcessed(redis);
      const t0 = performance.now();
      await sleep(10_000);
      const rate = ((await commandsProcessed(redis)) - before) / ((performance.now() - t0) / 1000);
      expect(h.simulator.stats().submissions).toHaveLength(2);
      return Math.round(rate);
    } finally {
      await queue.close();
      await redis.quit();
      await h.close();
      h = undefined;
    }
  }
});

async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info("stats");
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}
