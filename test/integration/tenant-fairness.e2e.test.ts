import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";
import { runFairness } from "../support/fairness-scenario.js";

const TASK_MS = 2_000;

// The goal of fair shares on real processes: two `kiln worker` processes over three partitions
// of one Redis, the simulator over HTTP, tasks of 2 s on average (spread from 1 to 3 s, so the
// bulk's tasks do not all end at once). Tenant bulk enqueues 150 at once; 3 s later tenant web
// enqueues 8, one a second. Web's waits from enqueue to submit must stay within one task
// duration; FIFO would put each behind bulk's whole backlog.
function fairnessBehind(what: string, env: Record<string, string>, fifoWait: string, options: { crash?: boolean } = {}): void {
  describe(`fair shares across worker processes and partitions, behind ${what}`, () => {
    const h = new KilnHarness();
    const workers: WorkerProcess[] = [];

    beforeAll(async () => {
      await h.start({
        workers: false,
        archive: "local",
        simulator: { durationsMs: { image: TASK_MS, video: TASK_MS, "3d": TASK_MS } },
        env: { KILN_PARTITIONS: "3", ...env },
      });
      for (let i = 0; i < 2; i++) workers.push(await new WorkerProcess(h.rawEnv).start());
    });
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await h.close();
    });

    it(`a tenant arriving behind another's backlog waits no more than one task duration (FIFO: ${fifoWait})`, async () => {
      const outcome = await runFairness({
        enqueue: (request) => h.client.enqueue(request),
        submissions: async () => h.simulator.stats().submissions,
        model: "hy-image-v3.0",
        bulk: { tenant: "bulk", count: 150, everyMs: 0, afterMs: 0, durationMs: (i) => TASK_MS * (0.5 + ((i * 37) % 60) / 60) },
        trickle: { tenant: "web", count: 8, everyMs: 1_000, afterMs: 3_000 },
        // the process that parked half the bulk dies: the lanes and passes are in Redis, the other serves them
        ...(options.crash ? { beforeTrickle: () => workers[0]!.kill() } : {}),
        timeoutMs: 60_000,
      });
      console.log(`[tenant-fairness] behind ${what}: web's waits (ms): ${outcome.waitsMs.join(", ")}; p95 ${outcome.p95Ms} ms`);
      expect(outcome.p95Ms).toBeLessThanOrEqual(TASK_MS);
    }, 120_000);
  });
}

// the cap, at a tenth of its task duration: 150 tasks are 30 s of work
fairnessBehind("an in-flight cap of 10", { KILN_TOKENHUB_MAX_INFLIGHT: "10" }, "about 25 s");
// 10 requests a second, submits and polls together, polls on the real schedule
// the same, with one of the two worker processes SIGKILLed just before web's first request
fairnessBehind("an in-flight cap of 10, one worker killed", { KILN_TOKENHUB_MAX_INFLIGHT: "10" }, "about 25 s", { crash: true });
fairnessBehind("a rate of 10 requests a second", { KILN_TOKENHUB_RATE: "10", KILN_POLL_SCALE: "1" }, "about 30 s");
