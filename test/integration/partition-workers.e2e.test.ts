import { afterEach, describe, expect, it } from "vitest";
import { partitionOf } from "../../src/queue/partitions.js";
import { eventually } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";
import { idsCovering } from "../support/partition-ids.js";

// Partitions on the run's single Redis (no cluster needed for these): which partitions a worker
// consumes, and a provider's rate shared by all of them.
describe("workers over partitions", () => {
  let h: KilnHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("KILN_WORKER_PARTITIONS=0,2 runs the jobs of partitions 0 and 2 only; a worker of partition 1 runs the rest", async () => {
    h = await new KilnHarness().start({ workers: false, env: { KILN_PARTITIONS: "3", KILN_WORKER_PARTITIONS: "0,2" } });
    const ids = idsCovering("wp", 3, 2);
    for (const id of ids) await h.client.enqueue(h.request("hy-image-v3.0"), { id });
    const narrowed = await h.startWorkers();
    const mine = ids.filter((id) => partitionOf(id, 3) !== 1);
    for (const id of mine) expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state, id).toBe("completed");
    const others = ids.filter((id) => partitionOf(id, 3) === 1);
    for (const id of others) expect((await h.client.get(id))?.state, id).toBe("waiting");
    // another process (here: another set of workers) consumes partition 1
    h.env = { ...h.env, KILN_WORKER_PARTITIONS: "1" };
    const rest = await h.startWorkers();
    try {
      for (const id of others) expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state, id).toBe("completed");
    } finally {
      await narrowed.close();
      h.workers = rest;
    }
  });

  it("kiln webhooks list and replay find failed deliveries in every partition", async () => {
    const down = new Set<string>();
    h = await new KilnHarness().start({ env: { KILN_PARTITIONS: "3" } });
    h.receiver.status = (d) => (down.has(d.payload.data.id) ? 503 : 204);
    const ids = idsCovering("dl", 3, 1).filter((id) => partitionOf(id, 3) !== 0);
    for (const id of ids) down.add(id);
    for (const id of ids) await h.client.enqueue(h.request("hy-image-lite"), { id });
    for (const id of ids) expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    const deliveries = await Promise.all(ids.map((id) => h!.deliveryIdOf(id)));
    const cli = (args: string[]) => kiln(args, h!.rawEnv);
    const failedIds = async () =>
      (JSON.parse((await cli(["webhooks", "list", "--failed", "--json"])).stdout) as Array<{ id: string }>).map((d) => d.id);
    await eventually(failedIds, (listed) => deliveries.every((d) => listed.includes(d)));
    down.clear();
    for (const delivery of deliveries) expect((await cli(["webhooks", "replay", delivery])).code).toBe(0);
    await h.receiver.waitFor(() => ids.every((id) => h!.receiver.of(id).some((d) => d.answeredWith === 204)));
  });

  it("KILN_WCODE_RATE holds across three partitions: each partition's queue gets a third of it", async () => {
    h = await new KilnHarness().start({ env: { KILN_PARTITIONS: "3", KILN_WCODE_RATE: "6" } });
    const ids = idsCovering("rate", 3, 6);
    await Promise.all(ids.map((id) => h!.client.enqueue(h!.chatRequest("wcode", "hunyuan-lite"), { id })));
    await Promise.all(ids.map((id) => h!.client.waitFor(id, { timeoutMs: 30_000 })));
    const times = h.simulator
      .stats()
      .submissions.map((s) => s.at)
      .sort((a, b) => a - b);
    expect(times).toHaveLength(18);
    // 18 requests at 6 per second need three one-second windows, however the partitions share them
    // (each partition at the whole rate would send all 18 in the first)
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1800);
  });
});
