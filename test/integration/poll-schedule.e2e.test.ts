import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readState } from "../../src/queue/kiln-job.js";
import { DurationStatsStore } from "../../src/polling/duration-stats-store.js";
import { KilnHarness, TEST_API_KEY } from "../support/kiln-harness.js";

/** Detection delay of each job (provider task done → kiln saw it), ms, and its polls. */
async function detections(h: KilnHarness, ids: string[]) {
  const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  try {
    return await Promise.all(
      ids.map(async (id) => {
        const state = stateOf(await queue.getJob(id));
        const task = h.simulator.book.tasks.get(state.taskId!)!;
        return { durationMs: task.doneAt - task.createdAt, delayMs: state.providerCompletedAt! - task.doneAt, polls: state.polls };
      }),
    );
  } finally {
    await queue.close();
  }
}

async function runVideos(h: KilnHarness, durationsMs: number[]) {
  const ids = await Promise.all(
    durationsMs.map((ms, i) => h.client.enqueue(h.request("hy-video-1.5", { prompt: `video ${i} [sim:ms=${ms}]` }))),
  );
  for (const id of ids) expect((await h.client.waitFor(id, { timeoutMs: 60_000, intervalMs: 50 })).state).toBe("completed");
  return detections(h, ids);
}

describe("the simulator's per-task durations", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start({ workers: false, archive: "local" }));
  afterAll(() => h.close());

  it("[sim:ms=n] sets a video's duration, and its TokenHub progress moves with it to 100 at completion", async () => {
    const query = async (id: string) => {
      const res = await request(`${h.simulator.url}/v1/api/video/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "hy-video-1.5", id }),
      });
      return (await res.body.json()) as { status: string; progress: number; data?: { url: string } };
    };
    const submitted = await request(`${h.simulator.url}/v1/api/video/submit`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "hy-video-1.5", prompt: "river [sim:ms=1000]" }),
    });
    const { id } = (await submitted.body.json()) as { id: string };
    await new Promise((r) => setTimeout(r, 500));
    const midway = await query(id);
    expect(midway.status).toBe("in_progress");
    expect(midway.progress).toBeGreaterThanOrEqual(45);
    expect(midway.progress).toBeLessThan(80);
    await new Promise((r) => setTimeout(r, 600));
    expect(await query(id)).toMatchObject({ status: "completed", progress: 100, data: { url: expect.any(String) } });
    const task = h.simulator.book.tasks.get(id)!;
    expect(task.doneAt - task.createdAt).toBe(1000);
  });
});

describe("KILN_POLL_SCHEDULE", () => {
  // scale 0.05: the floor is 75 ms and the detection goal max(100 ms, 10% of the duration)
  const adaptive = new KilnHarness();
  const fixed = new KilnHarness();
  beforeAll(() =>
    Promise.all([
      adaptive.start({ archive: "local", env: { KILN_POLL_SCALE: "0.05" } }),
      fixed.start({ archive: "local", env: { KILN_POLL_SCALE: "0.05", KILN_POLL_SCHEDULE: "fixed" } }),
    ]),
  );
  afterAll(() => Promise.all([adaptive.close(), fixed.close()]));

  it("adaptive learns each model's durations in Redis and keeps the provider's progress in the job's state", async () => {
    const done = await runVideos(adaptive, [1500, 1500, 1500]);
    const redis = new Redis(adaptive.env.REDIS_URL);
    try {
      const stats = await new DurationStatsStore(redis, adaptive.prefix).get("tokenhub", "hy-video-1.5");
      expect(stats?.n).toBe(3);
      // the midpoint between the last pending poll and the one that saw it done
      expect(Math.exp(stats!.mean)).toBeGreaterThan(1400);
      expect(Math.exp(stats!.mean)).toBeLessThan(1500 + Math.max(...done.map((d) => d.delayMs)));
      expect(await new DurationStatsStore(redis, fixed.prefix).get("tokenhub", "hy-video-1.5")).toBeUndefined();
    } finally {
      await redis.quit();
    }
    const id = await adaptive.client.enqueue(adaptive.request("hy-video-1.5", { prompt: "sampled [sim:ms=3000]" }));
    await new Promise((r) => setTimeout(r, 1800));
    const queue = new Queue("generate-tokenhub", { connection: { url: adaptive.env.REDIS_URL }, prefix: adaptive.prefix });
    const state = stateOf(await queue.getJob(id));
    await queue.close();
    expect(state.progressSamples?.length).toBeGreaterThanOrEqual(1);
    for (const s of state.progressSamples!) expect(s.progress).toBeCloseTo((100 * s.atMs) / 3000, -1.5);
    expect((await adaptive.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
  });

  it("adaptive sees tasks finish far sooner than fixed, within max(2 s, 10%) scaled, plus this machine's latency", async () => {
    const durations = [3000, 5000, 7000, 9000];
    const [learned, baseline] = await Promise.all([runVideos(adaptive, durations), runVideos(fixed, durations)]);
    const total = (runs: Array<{ delayMs: number }>) => runs.reduce((sum, r) => sum + r.delayMs, 0);
    expect(total(learned)).toBeLessThan(0.6 * total(baseline));
    // 250 ms for a busy shared machine: a visit, BullMQ's delayed promotion, the HTTP call
    for (const r of learned) expect(r.delayMs).toBeLessThanOrEqual(Math.max(100, 0.1 * r.durationMs) + 250);
  });
});

/** kiln's state of a job; throws when kiln has written none. */
function stateOf(job: Parameters<typeof readState>[0]) {
  const stored = readState(job);
  if (stored.kind !== "state") throw new Error(`no kiln state on the job (${stored.kind})`);
  return stored.state;
}
