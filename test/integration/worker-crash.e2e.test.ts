import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { storedDigest } from "../support/archive-check.js";
import { WorkerProcess } from "../support/worker-process.js";
import { createArchiveStore } from "../../src/storage/index.js";

const MODELS = ["hy-image-v3.0", "hy-video-1.5", "hy-3d-3.0", "hy-image-v3.0", "yt-video-humanactor", "hy-3d-express"];

describe("a worker killed with SIGKILL while its jobs wait to poll", () => {
  const h = new KilnHarness();
  const workers: WorkerProcess[] = [];
  let queue: Queue;
  beforeAll(async () => {
    // slow enough that every job is parked in the delayed set when the kill comes
    await h.start({
      workers: false,
      simulator: { durationsMs: { image: 2500, video: 3000, "3d": 3000 } },
      env: { KILN_POLL_SCALE: "0.3" },
    });
    queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.close();
    await h.close();
  });

  it("loses nothing: after a new worker starts every job completes, each task submitted once, each output archived once, each webhook received", async () => {
    const first = await new WorkerProcess(h.rawEnv).start();
    workers.push(first);
    const ids = await Promise.all(
      MODELS.map((m, i) =>
        h.client.enqueue(
          h.request(
            m,
            m === "yt-video-humanactor"
              ? { prompt: `actor ${i}`, audio_url: "https://example.com/voice.mp3", image_url: "https://example.com/face.jpeg" }
              : {},
          ),
          { id: `crash-${i}` },
        ),
      ),
    );
    await until(
      async () => h.simulator.stats().submissions.length === ids.length && (await queue.getJobCounts("active", "wait")).active === 0,
    );
    expect(await queue.getJobCounts("delayed", "completed")).toEqual({ delayed: ids.length, completed: 0 });
    await first.kill();

    const second = await new WorkerProcess(h.rawEnv).start();
    workers.push(second);
    const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 60_000 })));
    expect(statuses.map((s) => s.state)).toEqual(ids.map(() => "completed"));

    const submissions = h.simulator.stats().submissions;
    const prompts = submissions.map((s) => s.prompt);
    // one submission per job, none twice
    expect(prompts).toHaveLength(ids.length);
    expect(new Set(prompts).size).toBe(ids.length);
    const files = submissions.flatMap((s) => h.simulator.book.tasks.get(s.taskId)!.files);
    expect(h.simulator.stats().downloads).toBe(files.length); // every output fetched once
    const store = createArchiveStore(h.env);
    for (const status of statuses) {
      for (const output of status.result!.outputs)
        expect(await storedDigest(store, output.key)).toEqual({ sha256: output.sha256, bytes: output.bytes });
    }
    await h.receiver.waitFor(() => ids.every((id) => h.receiver.of(id).length >= 1));
    for (const id of ids) expect(h.receiver.of(id).map((r) => [r.payload.type, r.verified])).toEqual([["generation.completed", true]]);
  }, 120_000);
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
