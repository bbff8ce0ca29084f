import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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

describe("a worker killed in the middle of a webhook delivery", () => {
  const h = new KilnHarness();
  const workers: WorkerProcess[] = [];
  // a receiver that never answers its first request (the delivery in flight at the kill) and 200s the rest
  const arrivals: number[] = [];
  const held: ServerResponse[] = [];
  const receiver = createServer((req, res) => {
    req.resume();
    arrivals.push(Date.now());
    if (arrivals.length === 1) held.push(res);
    else res.writeHead(200).end();
  });
  beforeAll(async () => {
    await h.start({ workers: false });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    for (const res of held) res.destroy();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await h.close();
  });

  it("sends it again once the delivery's lock lapses (KILN_LOCK_DURATION, 10 s), not after BullMQ's 30 to 60 s", async () => {
    const first = await new WorkerProcess(h.rawEnv).start();
    workers.push(first);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const id = await h.client.enqueue(h.request("hy-image-lite", {}, { webhook: { url } }));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    await until(async () => arrivals.length === 1);
    const killedAt = Date.now();
    await first.kill();
    workers.push(await new WorkerProcess(h.rawEnv).start());
    await until(async () => arrivals.length === 2, 60_000);
    // the lock (10 s) plus a stalled check (every 5 s) and the new worker's start; BullMQ's defaults take 30 s at least
    expect(arrivals[1]! - killedAt).toBeLessThan(25_000);
  }, 90_000);
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
