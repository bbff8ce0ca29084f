import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { STATE_FIELD } from "../../src/queue/kiln-job.js";
import { afterEach, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { expectArchivedAsServed, storedDigest } from "../support/archive-check.js";
import type { S3ArchiveStore } from "../../src/storage/s3-archive-store.js";

describe("archive stores, base URL fallback and deadlines", () => {
  let h: KilnHarness;
  afterEach(() => h.close());

  it("archives into a local directory when no bucket is configured", async () => {
    h = await new KilnHarness().start({ archive: "local" });
    const id = await h.client.enqueue(h.request("hy-3d-express"));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
    for (const output of status.result!.outputs) {
      expect(output.url).toMatch(/^file:\/\//);
      const bytes = await readFile(fileURLToPath(output.url));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(output.sha256);
    }
  });

  it("S3_CHECKSUMS=when_required still archives byte for byte", async () => {
    h = await new KilnHarness().start({ env: { S3_CHECKSUMS: "when_required" } });
    const id = await h.client.enqueue(h.request("hy-video-1.5"));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    const output = status.result!.outputs[0]!;
    expect(await storedDigest(h.workers!.store, output.key)).toEqual({ sha256: output.sha256, bytes: output.bytes });
  });

  it("archives a video larger than a part as a multipart upload, byte for byte, within the memory budget", async () => {
    h = await new KilnHarness().start({
      simulator: { outputBytes: { image: 20_000, video: 23 * 1024 * 1024, model: 30_000, preview: 5_000 } },
      env: { KILN_ARCHIVE_MEMORY: "12MiB" },
    });
    const id = await h.client.enqueue(h.request("hy-video-1.5"));
    const status = await expectArchivedAsServed(h, id);
    expect(status.result.outputs[0]!.bytes).toBeGreaterThan(20 * 1024 * 1024);
    const budget = (h.workers!.store as S3ArchiveStore).budget;
    // 5 MiB parts in a 12 MiB budget: two at a time, whatever the store's queue size
    expect(budget.peakBytes).toBe(10 * 1024 * 1024);
    expect(budget.heldBytes).toBe(0);
  });

  it("tries the next base URL when the first cannot be reached", async () => {
    h = await new KilnHarness().start({ workers: false });
    h.env.TOKENHUB_BASE_URL = ["http://127.0.0.1:9", h.simulator.url];
    await h.startWorkers();
    const id = await h.client.enqueue(h.request("hy-image-v3.0"));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
  });

  it("a task still running at its deadline fails as timed_out, and says so by webhook", async () => {
    // polls a second apart, so the job sits in the delayed set while the test edits it
    h = await new KilnHarness().start({
      simulator: { durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } },
      env: { KILN_POLL_SCALE: "0.5" },
    });
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      const id = await h.client.enqueue(h.request("hy-image-v3.0"));
      let job = await queue.getJob(id);
      while (!((job?.progress as { taskId?: string } | undefined)?.taskId && (await job!.isDelayed()))) {
        await new Promise((r) => setTimeout(r, 20));
        job = await queue.getJob(id);
      }
      // time travel: the stored deadline is all the worker knows about how long is too long
      const redis = new Redis(h.env.REDIS_URL);
      await redis.hset(
        `${h.prefix}:generate-tokenhub:${id}`,
        STATE_FIELD,
        JSON.stringify({ ...(job!.progress as object), deadlineAt: Date.now() - 1 }),
      );
      await redis.quit();
      const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
      expect(status.result?.error).toMatchObject({ code: "timed_out" });
      expect(status.result?.error?.message).toMatch(/last provider status: (queued|in_progress)/);
      await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
      expect(h.receiver.of(id)[0]!.payload.type).toBe("generation.failed");
    } finally {
      await queue.close();
    }
  });
});
