import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { partitionOf, prefixOf } from "../../src/queue/partitions.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { until } from "../support/until.js";
import { WorkerProcess } from "../support/worker-process.js";

/** The first id `<stem>-<n>` that lands in `partition` of 2. */
function idIn(stem: string, partition: number): string {
  for (let n = 0; ; n++) if (partitionOf(`${stem}-${n}`, 2) === partition) return `${stem}-${n}`;
}

/**
 * Crashes during a shared wait. The original runs in partition 0 and the identical request
 * waiting on it in partition 1, each served by a `kiln worker` process of its own
 * (`KILN_WORKER_PARTITIONS`), so either side can be killed alone with SIGKILL.
 */
describe("reuse: a worker killed during a shared wait", () => {
  const h = new KilnHarness();
  const processes: WorkerProcess[] = [];
  const worker = async (partition: number) => {
    const started = await new WorkerProcess({ ...h.rawEnv, KILN_WORKER_PARTITIONS: String(partition) }).start();
    processes.push(started);
    return started;
  };
  beforeAll(() => h.start({ workers: false, env: { KILN_PARTITIONS: "2", KILN_POLL_SCALE: "0.05" } }));
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });
  afterAll(() => h.close());

  const submissions = (prompt: string) => h.simulator.stats().submissions.filter((s) => s.prompt === prompt).length;
  const request = (prompt: string) => h.request("hy-image-v3.0", { prompt, seed: 3 }, { reuse: { ttl: 600 } });

  /** The original submitted (its task takes 2.5 s) and the identical request waiting on it. */
  async function sharedWait(stem: string): Promise<{ prompt: string; original: string; waiting: string }> {
    const prompt = `${stem} ${Date.now()} [sim:ms=2500]`;
    const original = await h.client.enqueue(request(prompt), { id: idIn(stem, 0) });
    await until("the original's submission", () => submissions(prompt) === 1);
    const waiting = await h.client.enqueue(request(prompt), { id: idIn(`${stem}-twin`, 1) });
    await until("the twin waiting on it", async () => (await h.client.get(waiting))?.state === "delayed");
    return { prompt, original, waiting };
  }

  it("the process running the original is killed: a new one finishes it, and the waiting job reuses it; one submission", async () => {
    const first = await worker(0);
    await worker(1);
    const { prompt, original, waiting } = await sharedWait("killed-original");
    await first.kill();
    // the waiting job does not give up on an original that is only without a worker: it neither ends
    // nor submits (it looks again every 1.5 s here, so it may be active at any moment)
    await new Promise((r) => setTimeout(r, 1_500));
    expect(["delayed", "waiting", "active"]).toContain((await h.client.get(waiting))?.state);
    expect(submissions(prompt)).toBe(1);
    await worker(0);
    const [o, w] = await Promise.all([original, waiting].map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    expect([o!.state, w!.state]).toEqual(["completed", "completed"]);
    expect(w!.result?.reusedFrom).toBe(original);
    expect(submissions(prompt)).toBe(1);
  });

  it("the process running the waiting job is killed: the original completes alone, and a new process completes the twin from it; one submission", async () => {
    await worker(0);
    const second = await worker(1);
    const { prompt, original, waiting } = await sharedWait("killed-twin");
    await second.kill();
    expect((await h.client.waitFor(original, { timeoutMs: 30_000 })).state).toBe("completed");
    expect(["delayed", "waiting"]).toContain((await h.client.get(waiting))?.state);
    await worker(1);
    const twin = await h.client.waitFor(waiting, { timeoutMs: 30_000 });
    expect(twin.state).toBe("completed");
    expect(twin.result?.reusedFrom).toBe(original);
    expect(submissions(prompt)).toBe(1);
  });

  it("an original removed with its worker dead: the waiting job finds it gone, takes over and submits itself", async () => {
    const first = await worker(0);
    await worker(1);
    const { prompt, original, waiting } = await sharedWait("removed-original");
    await first.kill();
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: prefixOf(original, h.prefix, 2) });
    try {
      await until("the original removed", async () => (await queue.remove(original)) === 1);
    } finally {
      await queue.close();
    }
    const twin = await h.client.waitFor(waiting, { timeoutMs: 30_000 });
    expect(twin.state).toBe("completed");
    expect(twin.result?.reusedFrom).toBeUndefined();
    expect(submissions(prompt)).toBe(2);
  });
});
