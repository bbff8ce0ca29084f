import { writableServers, type RedisConnection } from "../queue/redis.js";

/** One Redis server's memory, from `INFO memory`: `maxmemory` 0 means no limit. */
export interface RedisMemory {
  /** `host:port` as kiln reaches it. */
  node: string;
  usedBytes: number;
  maxBytes: number;
}

/** Each server's memory: the one Redis, or every master of a Redis Cluster (replicas hold the same keys). */
export async function readRedisMemory(redis: RedisConnection): Promise<RedisMemory[]> {
  if (redis.status !== "ready") throw new Error(`redis connection ${redis.status}`);
  return Promise.all(writableServers(redis).map(async ({ node, server }) => ({ node, ...parseMemoryInfo(await server.info("memory")) })));
}

/** `used_memory` and `maxmemory` out of an `INFO memory` answer (`name:value` lines). */
function parseMemoryInfo(info: string): { usedBytes: number; maxBytes: number } {
  const field = (name: string): number => {
    const value = new RegExp(`^${name}:(\\d+)\\r?$`, "m").exec(info)?.[1];
    if (value === undefined) throw new Error(`INFO memory has no ${name} field`);
    return Number(value);
  };
  return { usedBytes: field("used_memory"), maxBytes: field("maxmemory") };
}
