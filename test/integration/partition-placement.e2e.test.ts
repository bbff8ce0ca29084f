import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, inject } from "vitest";
import { cancelKey } from "../../src/cancel/cancel-requests.js";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { partitionOf, partitionPrefixes } from "../../src/queue/partitions.js";
import { cleanPrefix } from "../support/kiln-harness.js";

// Partitions need no cluster: on the run's single Redis, a producer with KILN_PARTITIONS=3 places
// each job by crc32 of its id, and `get` / `cancel` find it there again (no workers run).
describe("partition placement on one Redis", () => {
  const prefix = `{kp-${randomUUID().slice(0, 8)}}`;
  const client = new GenerationClient({ redisUrl: inject("redisUrl"), prefix, partitions: 3 });
  const redis = new Redis(inject("redisUrl"));
  afterAll(async () => {
    await client.close();
    await redis.quit();
    for (const p of partitionPrefixes(prefix, 3)) await cleanPrefix(inject("redisUrl"), p);
  });

  it("a job enqueued in its partition is found again by get and cancelled there", async () => {
    const request = { provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "placement" } };
    const ids = ["p-a", "p-b", "p-c", "p-d", "p-e", "p-f"];
    expect(new Set(ids.map((id) => partitionOf(id, 3))).size).toBe(3);
    for (const id of ids) await client.enqueue(request, { id });
    const prefixes = partitionPrefixes(prefix, 3);
    for (const id of ids) {
      const home = prefixes[partitionOf(id, 3)]!;
      expect(await redis.exists(`${home}:generate-tokenhub:${id}`), id).toBe(1);
      expect(await client.get(id), id).toMatchObject({ id, state: "waiting", queue: "generate-tokenhub" });
      expect(await client.cancel(id, { reason: "placed" })).toEqual({ id, state: "waiting", cancelled: true });
      // the request sits beside the job, in its partition's slot, where the worker's state write reads it
      expect(await redis.get(cancelKey(home, "generate-tokenhub", id))).toBe("placed");
    }
    expect(await client.get("p-unknown")).toBeUndefined();
  });
});
