import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { PartitionedQueues } from "../../src/queue/partitioned-queues.js";
import { partitionOf, prefixOf } from "../../src/queue/partitions.js";

describe("PartitionedQueues: where a job is placed and looked for", () => {
  // never connected: placement is arithmetic, and queues open only when used
  const connection = new Redis({ lazyConnect: true });
  const log = createLogger({ level: "silent" });
  const three = new PartitionedQueues(connection, "{kiln}", 3, log);
  afterAll(() => connection.disconnect());

  it("puts a job in the partition crc32 of its id names", () => {
    for (const id of ["a", "order-77-cover", "9f1c2b7e-0d7a-4a51-9a55-6f0f0d6b1e11", "é"])
      expect(three.of(id).prefix, id).toBe(prefixOf(id, "{kiln}", 3));
    expect(three.all().map((q) => q.prefix)).toEqual(["{kiln-0}", "{kiln-1}", "{kiln-2}"]);
  });

  it("looks for a batch child in its own partition, then in its batch's (each prefix of the id before a '.')", () => {
    const child = "nightly.v2.line-7";
    const expected = [partitionOf(child, 3), partitionOf("nightly", 3), partitionOf("nightly.v2", 3)];
    expect(three.candidatesFor(child).map((q) => q.prefix)).toEqual([...new Set(expected)].map((i) => `{kiln-${i}}`));
    expect(three.candidatesFor("plain-id").map((q) => q.prefix)).toEqual([prefixOf("plain-id", "{kiln}", 3)]);
  });

  it("with one partition, everything is where it always was: the prefix itself", () => {
    const one = new PartitionedQueues(connection, "{kiln}", 1, log);
    expect(one.of("anything").prefix).toBe("{kiln}");
    expect(one.candidatesFor("batch.child").map((q) => q.prefix)).toEqual(["{kiln}"]);
  });
});
