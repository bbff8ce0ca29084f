import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";

describe("polls before new work", () => {
  const h = new KilnHarness();
  beforeAll(async () => {
    // one job at a time, and every provider call takes a while: the order of visits is the queue's order
    await h.start({
      archive: "local",
      simulator: { latencyMs: 40, durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } },
      env: { KILN_CONCURRENCY: "1" },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it("a submitted task's poll that is due goes before a backlog of jobs not yet submitted", async () => {
    const parked = h.request("hy-video-1.5");
    await h.client.enqueue(parked);
    while (h.simulator.stats().submissions.length < 1) await new Promise((r) => setTimeout(r, 10));
    const task = h.simulator.book.tasks.get(h.simulator.stats().submissions[0]!.taskId)!;
    // its first poll is due in about 200 ms; 40 new jobs take well over 2 s one after another
    await Promise.all(Array.from({ length: 40 }, () => h.client.enqueue(h.request("hy-image-lite"))));
    const deadline = Date.now() + 30_000;
    while (task.firstQueriedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const before = h.simulator.stats().submissions.filter((s) => s.model === "hy-image-lite" && s.at < task.firstQueriedAt!).length;
    expect(task.firstQueriedAt).toBeDefined();
    // behind the backlog it would have waited for all 40
    expect(before).toBeLessThan(15);
  });
});
