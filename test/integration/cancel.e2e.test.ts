import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";

describe("cancel", () => {
  let h: KilnHarness;
  afterEach(() => h.close());

  /** The in-flight slots taken on the gateway provider, read straight from Redis. */
  async function slotsInUse(): Promise<number> {
    const redis = new Redis(h.env.REDIS_URL);
    try {
      return await redis.zcard(`${h.prefix}:inflight:gateway`);
    } finally {
      await redis.quit();
    }
  }

  it("a delayed job (waiting to poll) ends now as failed/cancelled, gives back its slot and sends generation.failed", async () => {
    // polls seconds apart and a task that takes a minute: the job sits in the delayed set
    h = await new KilnHarness().start({
      simulator: { durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } },
      env: { KILN_GATEWAY_MAX_INFLIGHT: "3", KILN_POLL_SCALE: "1" },
    });
    const id = await h.client.enqueue(h.chatRequest("gateway", "wan2.7-t2v"));
    for (
      let s = await h.client.get(id);
      s?.state !== "delayed" || (s.progress as { step?: string }).step !== "poll";
      s = await h.client.get(id)
    )
      await new Promise((r) => setTimeout(r, 20));
    expect(await slotsInUse()).toBe(1);
    const asked = Date.now();
    expect(await h.client.cancel(id, { reason: "user changed their mind" })).toEqual({ id, state: "delayed", cancelled: true });
    const status = await h.client.waitFor(id, { timeoutMs: 5_000, intervalMs: 20 });
    // well before the next poll (10 s away at this scale): the cancel promoted the job
    expect(Date.now() - asked).toBeLessThan(3_000);
    expect(status.result?.error).toEqual({ code: "cancelled", message: "user changed their mind", retryable: false });
    expect(await slotsInUse()).toBe(0);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    expect(h.receiver.of(id)[0]!.payload).toMatchObject({ type: "generation.failed", data: { error: { code: "cancelled" } } });
  });

  it("a waiting job is never submitted: a worker that starts later ends it as cancelled", async () => {
    h = await new KilnHarness().start({ workers: false });
    const id = await h.client.enqueue(h.chatRequest("gateway", "qwen3-max"));
    expect((await h.client.cancel(id)).state).toBe("waiting");
    await h.startWorkers();
    const status = await h.client.waitFor(id, { timeoutMs: 10_000 });
    expect(status.state).toBe("failed");
    expect(status.failedReason).toBe("cancelled: cancelled by request");
    expect(h.simulator.stats().submissions).toHaveLength(0);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    expect(h.receiver.of(id)[0]!.payload.type).toBe("generation.failed");
  });

  it("a job that already ended is left alone", async () => {
    h = await new KilnHarness().start();
    const id = await h.client.enqueue(h.chatRequest("wcode", "hunyuan-lite"));
    await h.client.waitFor(id, { timeoutMs: 10_000 });
    expect(await h.client.cancel(id)).toEqual({ id, state: "completed", cancelled: false });
  });
});
