import { afterEach, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { startObservedWorkers } from "../support/observed-workers.js";
import { eventually, sample } from "../fixtures/http-api-client.js";
import type { KilnMetrics } from "../../src/server/kiln-metrics.js";

const queue = { queue: "generate-tokenhub" };

/**
 * Keeps this process (and the kiln workers in it) busy for `ms`: the polls that come due
 * meanwhile start late, in a process whose event loop was busy (the pacer's quarter-second
 * sample then holds the stall and at most 250 ms before it: over 90% busy for 3 s).
 */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy on purpose: no timer, no I/O, no BullMQ fetch runs
  }
}

/** Videos that run for a minute, polled every few hundred ms by workers in this process. */
async function pollingWorkers(h: KilnHarness, pacing: "on" | "off"): Promise<KilnMetrics> {
  await h.start({
    workers: false,
    archive: "local",
    simulator: { durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } },
    env: { KILN_SUBMIT_PACING: pacing },
  });
  const { metrics } = await startObservedWorkers(h);
  await Promise.all(Array.from({ length: 20 }, (_, i) => h.client.enqueue(h.request("hy-video-1.5", { prompt: `long ${i}` }))));
  // every task submitted and polled a few times: their polls come due all the time
  await eventually(
    async () => h.simulator.stats(),
    (stats) => stats.submissions.length >= 20 && stats.queries >= 60,
  );
  return metrics;
}

const allowed = async (metrics: KilnMetrics) => sample(await metrics.text(), "kiln_submits_allowed", queue);

describe("KILN_SUBMIT_PACING", () => {
  let h: KilnHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("on: polls that start late cut the submits allowed (kiln_submits_allowed), which then grow back", async () => {
    h = new KilnHarness();
    const metrics = await pollingWorkers(h, "on");
    const full = await allowed(metrics);
    expect(full).toBeGreaterThanOrEqual(50);
    stall(3000);
    const cut = await eventually(
      () => allowed(metrics),
      (value) => value !== undefined && value < full!,
      5_000,
    );
    expect(cut).toBeLessThanOrEqual(full! / 2);
    await eventually(
      () => allowed(metrics),
      (value) => value === full,
      20_000,
    );
  }, 60_000);

  it("off: the same late polls leave every submit allowed", async () => {
    h = new KilnHarness();
    const metrics = await pollingWorkers(h, "off");
    const full = await allowed(metrics);
    expect(full).toBeGreaterThanOrEqual(50);
    const queries = h.simulator.stats().queries;
    stall(3000);
    // the late polls have run (and would have cut the limit) by the time more are counted
    await eventually(
      async () => h!.simulator.stats().queries,
      (n) => n >= queries + 40,
    );
    expect(await allowed(metrics)).toBe(full);
  }, 60_000);
});
