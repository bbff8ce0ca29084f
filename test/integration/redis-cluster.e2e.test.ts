import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionOf, partitionPrefixes } from "../../src/queue/partitions.js";
import { connectRedis, parseClusterNodes, type RedisConnection } from "../../src/queue/redis.js";
import { startRedisCluster, type RedisClusterHandle } from "../support/redis-cluster.js";

// A real Redis Cluster (3 masters, 3 replicas of redis-server --cluster-enabled yes) under the
// connection kiln makes from REDIS_CLUSTER_NODES, and BullMQ queues spread over partitions.
describe("Redis Cluster connection and partitions", () => {
  let cluster: RedisClusterHandle;
  let connection: RedisConnection;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    connection = connectRedis({ clusterNodes: parseClusterNodes(cluster.seeds) }, "worker");
  }, 60_000);

  afterAll(async () => {
    // bounded for the same reason as the failover test's teardown
    await Promise.race([connection?.quit(), new Promise((r) => setTimeout(r, 5_000))]);
    await cluster?.stop();
  });

  it("runs BullMQ jobs in three partitions whose keys live on at least two masters", async () => {
    const prefixes = partitionPrefixes("{kiln}", 3);
    const queues = prefixes.map((prefix) => new Queue("generate-tokenhub", { connection, prefix }));
    const done: string[] = [];
    const workers = prefixes.map(
      (prefix) =>
        new Worker(
          "generate-tokenhub",
          async (job) => {
            done.push(String(job.id));
            return prefix;
          },
          { connection, prefix, concurrency: 4 },
        ),
    );
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `job-${i}`);
      for (const id of ids) await queues[partitionOf(id, 3)]!.add("generate", { n: id }, { jobId: id });
      await until(() => done.length === ids.length, 20_000);
      expect(done.sort()).toEqual([...ids].sort());
      // each job ran in the partition the crc32 rule names, and nowhere else
      const results = await Promise.all(ids.map((id) => queues[partitionOf(id, 3)]!.getJob(id).then((job) => job?.returnvalue as unknown)));
      expect(results).toEqual(ids.map((id) => prefixes[partitionOf(id, 3)]));

      // each partition's keys are in one slot; the three slots are served by at least two masters
      const probe = new Redis({ host: "127.0.0.1", port: cluster.nodes[0]!.port });
      const slots = await Promise.all(
        prefixes.map((prefix) => probe.call("CLUSTER", "KEYSLOT", `${prefix}:generate-tokenhub:id`) as Promise<number>),
      );
      probe.disconnect();
      const owners = await Promise.all(slots.map((slot) => cluster.masterOfSlot(slot)));
      expect(new Set(owners).size).toBeGreaterThanOrEqual(2);
      // and the keys are really there, on the owners
      for (const [i, prefix] of prefixes.entries()) {
        const node = new Redis({ host: "127.0.0.1", port: owners[i]! });
        const keys = await node.keys(`${prefix}:generate-tokenhub:*`);
        node.disconnect();
        expect(keys.length, `keys of ${prefix} on its master ${owners[i]}`).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(queues.map((q) => q.close()));
    }
  });

  it("keeps processing after the master of a partition is SIGKILLed and its replica promoted", async () => {
    const prefix = "{kiln-failover}";
    const queue = new Queue("generate-wcode", { connection, prefix });
    const seen = new Set<string>();
    const worker = new Worker("generate-wcode", async (job) => void seen.add(String(job.id)), { connection, prefix, concurrency: 4 });
    const errors: string[] = [];
    worker.on("error", (err) => errors.push(err.message));
    try {
      for (let i = 0; i < 20; i++) await queue.add("generate", {}, { jobId: `before-${i}` });
      await until(() => seen.size === 20, 10_000);
      const probe = new Redis({ host: "127.0.0.1", port: cluster.nodes[0]!.port });
      const slot = (await probe.call("CLUSTER", "KEYSLOT", `${prefix}:generate-wcode:id`)) as number;
      probe.disconnect();
      const master = await cluster.masterOfSlot(slot);
      const killedAt = Date.now();
      await cluster.kill(master);
      await cluster.waitHealthy(30_000);
      const promotedAfterMs = Date.now() - killedAt;
      expect(await cluster.masterOfSlot(slot)).not.toBe(master);
      // the same worker and producer connections carry on: no restart
      for (let i = 0; i < 20; i++) await queue.add("generate", {}, { jobId: `after-${i}` });
      await until(() => seen.size === 40, 20_000);
      // the client rode the failover out: its commands waited for the promotion instead of failing
      expect(errors).toEqual([]);
      console.log(
        `[redis cluster] master ${master} of slot ${slot} SIGKILLed; replica promoted and cluster healthy after ${promotedAfterMs} ms`,
      );
    } finally {
      // the checks are done; closing may wait on a blocking command that was sent to the killed
      // master, so teardown is bounded rather than left to the test's timeout (seen once on Node 24)
      await Promise.race([Promise.all([worker.close(true), queue.close()]), new Promise((r) => setTimeout(r, 5_000))]);
    }
  }, 90_000);
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
