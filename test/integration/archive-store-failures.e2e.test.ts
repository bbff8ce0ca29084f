import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";

/** Outputs the worker may write before its file-size limit (RLIMIT_FSIZE) makes a write fail with EFBIG. */
const FILE_LIMIT = 1_000_000;

describe("a store error at any moment of an archive fails its job alone, and the worker process goes on", () => {
  const h = new KilnHarness();
  let worker: WorkerProcess;
  beforeAll(async () => {
    await h.start({
      archive: "local",
      workers: false,
      // a video output is larger than the file limit, an image output smaller; both larger than
      // the stream buffers between download and store, so a store failing early leaves the download unread
      simulator: { outputBytes: { image: 300_000, video: 3_000_000, model: 30_000, preview: 5_000 } },
      // archiving retries until the later of the task deadline and the archive deadline: both short
      env: { KILN_ARCHIVE_DEADLINE: "2s", KILN_DEADLINE_IMAGE: "3s", KILN_DEADLINE_VIDEO: "3s" },
    });
    worker = await new WorkerProcess(h.rawEnv, ["prlimit", `--fsize=${FILE_LIMIT}`, "--"]).start();
  });
  afterAll(async () => {
    await worker.stop();
    await h.close();
  });

  it("before reading (ENOTDIR), mid-stream (EFBIG) and after the last byte (EISDIR): archive_failed after retries, then a normal job completes", async () => {
    const dir = h.env.ARCHIVE_DIR;
    // a file where the job's archive directory would go: mkdir fails before a byte is read
    await writeFile(join(dir, "blocked"), "not a directory");
    const beforeReading = await h.client.enqueue(h.request("hy-image-v3.0", {}, { archive: { prefix: "blocked" } }));
    // a directory where the output's file would go: the rename after the last byte fails
    const afterId = `after-${Date.now()}`;
    await mkdir(join(dir, "kiln", "tokenhub", new Date().toISOString().slice(0, 10), afterId, "0.png"), { recursive: true });
    const afterReading = await h.client.enqueue(h.request("hy-image-v3.0"), { id: afterId });
    const midStream = await h.client.enqueue(h.request("hy-video-1.5"));

    const failed = await Promise.all([beforeReading, midStream, afterReading].map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    expect(failed.map((s) => s.result?.error?.code)).toEqual(["archive_failed", "archive_failed", "archive_failed"]);
    expect(failed[0]!.result?.error?.message).toMatch(/ENOTDIR/);
    expect(failed[1]!.result?.error?.message).toMatch(/EFBIG/);
    expect(failed[2]!.result?.error?.message).toMatch(/EISDIR/);
    expect(worker.alive).toBe(true);

    const normal = await h.client.waitFor(await h.client.enqueue(h.request("hy-image-v3.0")), { timeoutMs: 20_000 });
    expect(normal.state).toBe("completed");
    expect(worker.alive).toBe(true);
    expect(worker.output.join("")).not.toMatch(/uncaught/i);
  }, 60_000);
});

describe("an S3 bucket that refuses every write fails each archive alone, before and mid-stream", () => {
  const h = new KilnHarness();
  beforeAll(async () => {
    await h.start({
      // a video output spans parts: refused at CreateMultipartUpload with most of the download unread
      simulator: { outputBytes: { image: 300_000, video: 12_000_000, model: 30_000, preview: 5_000 } },
      env: {
        S3_BUCKET: `kiln-missing-${Date.now()}`,
        // start-up's probe would refuse the bucket: this is about what a job does when it goes missing later
        KILN_STARTUP_CHECKS: "warn",
        KILN_ARCHIVE_DEADLINE: "2s",
        KILN_DEADLINE_IMAGE: "3s",
        KILN_DEADLINE_VIDEO: "3s",
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it("archive_failed after retries for a one-part and a multipart output, and the workers keep running", async () => {
    const ids = await Promise.all([h.request("hy-image-v3.0"), h.request("hy-video-1.5")].map((r) => h.client.enqueue(r)));
    const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    expect(statuses.map((s) => s.result?.error?.code)).toEqual(["archive_failed", "archive_failed"]);
    for (const s of statuses) expect(s.result?.error?.message).toMatch(/bucket/i);
    expect(h.workers!.isRunning()).toBe(true);
  }, 60_000);
});
