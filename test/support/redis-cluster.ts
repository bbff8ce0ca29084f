/**
 * A real Redis Cluster for tests: `masters` masters with `replicas` replicas each, every node a
 * `redis-server --cluster-enabled yes` on a free loopback port, joined with
 * `redis-cli --cluster create`. A short node timeout (1 s) makes failover take a few seconds, and
 * `cluster-replica-validity-factor 0` lets a replica take over however long its link was down
 * (a replica still syncing right after start-up would otherwise refuse, and the shard stays down).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { findExecutable, startRedisProcess, type RedisProcessHandle } from "@kiln/dev-tools";
import { setTimeout as sleep } from "node:timers/promises";

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  handle: RedisProcessHandle;
}

export interface RedisClusterHandle {
  nodes: ClusterNode[];
  /** `host:port,host:port,...` of every node, the form REDIS_CLUSTER_NODES takes. */
  seeds: string;
  /** Ports of the nodes that are masters now, each with the slot ranges it serves. */
  masters(): Promise<Array<{ port: number; slots: Array<[number, number]> }>>;
  /** The port of the master that serves `slot` now. */
  masterOfSlot(slot: number): Promise<number>;
  /** SIGKILLs one node (a crashed shard); its replica takes over after the node timeout. */
  kill(port: number): Promise<void>;
  /** Resolves once every live node reports cluster_state:ok and all slots are served by live masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisCluster(options: { masters?: number; replicas?: number } = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const cli = await findExecutable("redis-cli");
  if (cli === null) throw new Error("redis-cli was not found on PATH: install redis-tools (Debian: apt-get install -y redis-server)");
  const nodes: ClusterNode[] = [];
  const killed = new Set<number>();
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const handle = await startRedisProcess({
        extraArgs: [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-node-timeout",
          "1000",
          "--cluster-replica-validity-factor",
          "0",
        ],
      });
      nodes.push({ port: handle.port, handle });
    }
    await run(cli, [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.handle.kill()));
    throw err;
  }

  const live = () => nodes.filter((n) => !killed.has(n.port));
  const withNode = async <T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      await redis.connect();
      return await use(redis);
    } finally {
      redis.disconnect();
    }
  };
  const masterSlots = async () => {
    const first = live()[0];
    if (!first) throw new Error("no live cluster node");
    const slots = (await withNode(first.port, (r) => r.call("CLUSTER", "SLOTS"))) as Array<
      [number, number, [string, number, ...unknown[]], ...unknown[]]
    >;
    return slots.map(([from, to, [, port]]) => ({ from, to, port: Number(port) }));
  };

  const waitReplicasSynced = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(live().map((n) => withNode(n.port, (r) => r.info("replication"))));
      const lagging = infos.filter((info) => info.includes("role:slave") && !info.includes("master_link_status:up"));
      if (lagging.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${lagging.length} replicas not synced with their masters after ${timeoutMs} ms`);
      await sleep(100);
    }
  };

  const handle: RedisClusterHandle = {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(","),
    async masters() {
      const byPort = new Map<number, Array<[number, number]>>();
      for (const { from, to, port } of await masterSlots()) byPort.set(port, [...(byPort.get(port) ?? []), [from, to]]);
      return [...byPort].map(([port, slots]) => ({ port, slots }));
    },
    async masterOfSlot(slot) {
      const range = (await masterSlots()).find((r) => r.from <= slot && slot <= r.to);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return range.port;
    },
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on port ${port}`);
      killed.add(port);
      await node.handle.kill();
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        try {
          const states = await Promise.all(live().map((n) => withNode(n.port, (r) => r.call("CLUSTER", "INFO")) as Promise<string>));
          const served = await masterSlots();
          const covered = served.reduce((sum, r) => sum + (r.to - r.from + 1), 0);
          const onLive = served.every((r) => !killed.has(r.port));
          if (states.every((s) => s.includes("cluster_state:ok")) && covered === 16384 && onLive) return;

          last = `states ${states.map((s) => /cluster_state:(\w+)/.exec(s)?.[1]).join(",")}, ${covered} slots served, on live masters: ${onLive}`;
        } catch (err) {
          last = String(err);
        }
        await sleep(100);
      }
      throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms: ${last}`);
    },
    async stop() {
      await Promise.all(live().map((n) => n.handle.stop()));
    },
  };
  try {
    await handle.waitHealthy();
    await waitReplicasSynced();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
