import { Redis, type RedisOptions } from "ioredis";

/**
 * A Redis connection for a BullMQ role. Workers wait through outages
 * (`maxRetriesPerRequest: null`, as BullMQ requires); producers fail fast
 * (`enableOfflineQueue: false`) so a caller hears about an outage instead of hanging.
 */
export function createRedis(url: string, role: "worker" | "producer", extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === "worker"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }
      : { maxRetriesPerRequest: 3, enableOfflineQueue: false, ...extra };
  return new Redis(url, options);
}

/** Resolves once `redis` is ready, or rejects after `timeoutMs`. */
export async function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis not ready after ${timeoutMs} ms (status ${redis.status})`)), timeoutMs);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
