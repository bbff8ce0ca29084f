import { describe, expect, it } from "vitest";
import { partitionOf, partitionPrefix, partitionPrefixes, prefixOf, prefixProblem, workerPartitions } from "../../src/queue/partitions.js";

describe("partitions", () => {
  it("appends the partition index inside the hash tag, and leaves one partition alone", () => {
    expect(partitionPrefixes("{kiln}", 3)).toEqual(["{kiln-0}", "{kiln-1}", "{kiln-2}"]);
    expect(partitionPrefixes("acme{kiln}x", 2)).toEqual(["acme{kiln-0}x", "acme{kiln-1}x"]);
    expect(partitionPrefix("{kiln}", 0, 1)).toBe("{kiln}");
    expect(() => partitionPrefix("{kiln}", 3, 3)).toThrow(/outside 0..2/);
    expect(() => partitionPrefix("kiln", 0, 2)).toThrow(/hash tag/);
  });

  it("places a job by CRC-32/IEEE of its UTF-8 id, as zlib and every language's crc32 compute it", () => {
    // reference values of the standard CRC-32 (the check value of "123456789" is 0xCBF43926)
    expect(partitionOf("123456789", 0xcbf43926 + 1)).toBe(0xcbf43926);
    expect(partitionOf("123456789", 3)).toBe(0xcbf43926 % 3);
    expect(partitionOf("hello", 7)).toBe(0x3610a686 % 7);
    // UTF-8, not UTF-16: "é" is the two bytes c3 a9
    expect(partitionOf("é", 1_000_000_007)).toBe(0x0e048d3e % 1_000_000_007);
    expect(partitionOf("anything", 1)).toBe(0);
    expect(prefixOf("123456789", "{kiln}", 3)).toBe(`{kiln-${0xcbf43926 % 3}}`);
  });

  it("refuses a prefix without a hash tag, naming why", () => {
    expect(prefixProblem("{kiln}")).toBeUndefined();
    expect(prefixProblem("kiln")).toMatch(/\{\.\.\.\} hash tag/);
    expect(prefixProblem("{}")).toMatch(/hash tag/);
    expect(prefixProblem("{a}:b")).toMatch(/':'/);
  });

  it("reads KILN_WORKER_PARTITIONS, all partitions when unset", () => {
    expect(workerPartitions(undefined, 3)).toEqual([0, 1, 2]);
    expect(workerPartitions("2, 0", 3)).toEqual([0, 2]);
    expect(() => workerPartitions("0,3", 3)).toThrow(/"3" not a partition of 0..2/);
    expect(() => workerPartitions("x", 3)).toThrow(/"x"/);
  });
});

describe("REDIS_CLUSTER_NODES", () => {
  it("reads host:port lists, IPv6 in brackets, and names a bad entry", async () => {
    const { parseClusterNodes } = await import("../../src/queue/redis.js");
    expect(parseClusterNodes("10.0.0.1:7000, redis-2.internal:7001,[::1]:7002")).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "redis-2.internal", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(() => parseClusterNodes("10.0.0.1:7000,10.0.0.2")).toThrow(/"10.0.0.2" is not host:port/);
    expect(() => parseClusterNodes("h:70000")).toThrow(/not host:port/);
  });
});
