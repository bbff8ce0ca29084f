import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFreePort } from "@kiln/dev-tools";
import { sample } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";
import { until } from "../support/until.js";

describe("per-tenant metrics of a kiln worker, with a bounded tenant label", () => {
  const h = new KilnHarness();
  let worker: WorkerProcess;
  let metricsUrl = "";

  beforeAll(async () => {
    await h.start({ workers: false, archive: "local", simulator: { durationsMs: { image: 300, video: 8_000, "3d": 300 } } });
    const port = await getFreePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = await new WorkerProcess({
      ...h.rawEnv,
      KILN_HTTP_PORT: String(port),
      KILN_HTTP_HOST: "127.0.0.1",
      KILN_METRICS_TENANTS: "2",
    }).start();
  });
  afterAll(async () => {
    await worker?.stop();
    await h.close();
  });

  it("counts each tenant's generations, waits and usage; past KILN_METRICS_TENANTS, tenants count as other", async () => {
    // one tenant after another, so the order the worker sees them in is known
    const runs: Array<[string | undefined, number]> = [
      ["studio", 2],
      [undefined, 1],
      ["nightly", 1],
      ["ad-hoc", 1],
    ];
    for (const [tenant, count] of runs)
      for (let i = 0; i < count; i++) {
        const id = await h.client.enqueue({ ...h.request("hy-image-v3.0"), ...(tenant ? { tenant } : {}) });
        expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
      }
    const text = await (await fetch(metricsUrl)).text();
    const generations = (tenant: string) => sample(text, "kiln_tenant_generations_total", { tenant, status: "completed" });
    expect([generations("studio"), generations("default"), generations("other")]).toEqual([2, 1, 2]);
    expect([generations("nightly"), generations("ad-hoc")]).toEqual([undefined, undefined]);
    expect(sample(text, "kiln_tenant_wait_seconds_count", { tenant: "studio" })).toBe(2);
    expect(sample(text, "kiln_tenant_usage_total", { tenant: "other", unit: "images" })).toBe(2);
  }, 60_000);

  it("shows each tenant's slots held and jobs waiting behind a provider's cap", async () => {
    await worker.stop();
    const port = await getFreePort();
    worker = await new WorkerProcess({
      ...h.rawEnv,
      KILN_HTTP_PORT: String(port),
      KILN_HTTP_HOST: "127.0.0.1",
      KILN_TOKENHUB_MAX_INFLIGHT: "1",
    }).start();
    const before = h.simulator.stats().submissions.length;
    const holder = await h.client.enqueue({ ...h.request("hy-video-1.5"), tenant: "studio" });
    await until("the holder's submit", () => h.simulator.stats().submissions.length === before + 1);
    const waiters = [];
    for (let i = 0; i < 2; i++) waiters.push(await h.client.enqueue({ ...h.request("hy-image-v3.0"), tenant: "nightly" }));
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await until(
      "both waiting",
      async () => sample(await scrape(), "kiln_tenant_waiting", { provider: "tokenhub", tenant: "nightly" }) === 2,
    );
    const text = await scrape();
    expect(sample(text, "kiln_tenant_inflight", { provider: "tokenhub", tenant: "studio" })).toBe(1);
    expect(sample(text, "kiln_tenant_inflight", { provider: "tokenhub", tenant: "nightly" })).toBe(0);
    for (const id of [holder, ...waiters]) expect((await h.client.waitFor(id, { timeoutMs: 30_000 })).state).toBe("completed");
  }, 60_000);
});
