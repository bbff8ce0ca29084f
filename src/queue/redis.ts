import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

/** A connection kiln hands to BullMQ and uses itself: one Redis, or a Redis Cluster client. */
export type RedisConnection = Redis | Cluster;

/**
 * Where Redis is: one server by URL, or a Redis Cluster seeded by some of its nodes
 * (`REDIS_CLUSTER_NODES`), with the password and TLS that apply to every node.
 */
export type RedisTarget =
  { url: string } | { clusterNodes: Array<{ host: string; port: number }>; password?: string | undefined; tls?: boolean | undefined };

/** The target the environment names: the cluster when `REDIS_CLUSTER_NODES` is set, else `REDIS_URL`. */
export function redisTargetOf(env: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: Array<{ host: string; port: number }> | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_TLS?: boolean | undefined;
}): RedisTarget {
  if (env.REDIS_CLUSTER_NODES && env.REDIS_CLUSTER_NODES.length > 0) {
    return { clusterNodes: env.REDIS_CLUSTER_NODES, password: env.REDIS_PASSWORD, tls: env.REDIS_TLS };
  }
  return { url: env.REDIS_URL };
}

/** Reads `REDIS_CLUSTER_NODES`: `host:port,host:port,...`; throws naming the first bad entry. */
export function parseClusterNodes(spec: string): Array<{ host: string; port: number }> {
  return spec
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) throw new RangeError(`${JSON.stringify(entry)} is not host:port`);
      return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
    });
}

/** Options of a BullMQ role: workers wait through outages (as BullMQ requires); producers fail fast. */
function roleOptions(role: "worker" | "producer"): RedisOptions {
  return role === "worker"
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 3, enableOfflineQueue: false };
}

/**
 * A Redis connection for a BullMQ role. Workers wait through outages
 * (`maxRetriesPerRequest: null`, as BullMQ requires); producers fail fast
 * (`enableOfflineQueue: false`) so a caller hears about an outage instead of hanging.
 */
export function createRedis(url: string, role: "worker" | "producer", extra: RedisOptions = {}): Redis {
  return new Redis(url, { ...roleOptions(role), ...extra });
}

/**
 * A connection to `target` for a BullMQ role. On a cluster, the role's options apply to every
 * node's connection, and the client follows MOVED/ASK redirections and failovers by itself.
 */
export function connectRedis(target: RedisTarget, role: "worker" | "producer", extra: RedisOptions = {}): RedisConnection {
  if ("url" in target) return createRedis(target.url, role, extra);
  const { enableOfflineQueue, ...nodeOptions } = { ...roleOptions(role), ...extra };
  const redisOptions: RedisOptions = {
    ...nodeOptions,
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  const failFast = enableOfflineQueue === false;
  const options: ClusterOptions = {
    redisOptions,
    // BullMQ counts a cluster client's "connect" status as connected, but the client refuses every
    // command until its ready check (CLUSTER INFO) ends unless it has an offline queue: a producer,
    // which has none, skips the check and is ready the moment it knows the slots (a command that
    // meets a cluster still forming is retried on CLUSTERDOWN as during a failover)
    enableReadyCheck: !failFast,
    ...(failFast ? { enableOfflineQueue: false } : {}),
    // a failover moves slots and answers CLUSTERDOWN/MOVED until a replica is promoted (node
    // timeout + election, a few seconds): keep redirecting for ~30 s rather than failing the command
    slotsRefreshTimeout: 2000,
    retryDelayOnClusterDown: 300,
    retryDelayOnFailover: 300,
    retryDelayOnTryAgain: 300,
    maxRedirections: 100,
    // with TLS, connect to nodes by the names the seeds gave (certificates name hosts, not IPs)
    ...(target.tls
      ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) }
      : {}),
  };
  return new Cluster(target.clusterNodes, options);
}

/** Resolves once `redis` is ready, or rejects after `timeoutMs`. */
export async function waitReady(redis: RedisConnection, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis not ready after ${timeoutMs} ms (status ${redis.status})`)), timeoutMs);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Each Redis server kiln writes to, with its `host:port` as kiln reaches it: the one server, or
 * every master of a Redis Cluster (replicas hold the same keys).
 */
export function writableServers(redis: RedisConnection): Array<{ node: string; server: Redis }> {
  const servers: Redis[] = "nodes" in redis ? redis.nodes("master") : [redis];
  return servers.map((server) => ({ node: `${server.options.host ?? "localhost"}:${server.options.port ?? 6379}`, server }));
}
