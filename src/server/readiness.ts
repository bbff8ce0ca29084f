import type { RedisConnection } from "../queue/redis.js";
import { z } from "zod";
import { withTimeout } from "../util/with-timeout.js";

/** One readiness check's outcome, as `/readyz` reports it. */
export const ReadinessCheck = z.object({ ok: z.boolean(), error: z.string().optional() });
export type ReadinessCheck = z.infer<typeof ReadinessCheck>;

/** Redis answers PING within `timeoutMs`. */
export async function checkRedis(redis: RedisConnection, timeoutMs: number): Promise<ReadinessCheck> {
  try {
    await withTimeout(redis.ping(), timeoutMs, "PING");
    return { ok: true };
  } catch (err) {
    return { ok: false, error: `${(err as Error).message} (connection ${redis.status})` };
  }
}

/**
 * The process's BullMQ workers are running. Only a start-up and shutdown signal: a worker can
 * run and still not fetch after a Redis failover (BullMQ leaves reconnecting to ioredis, and a
 * worker whose blocking fetch never returns still reports running); job progress shows that.
 */
export function checkWorkers(running: () => boolean): ReadinessCheck {
  return running() ? { ok: true } : { ok: false, error: "workers are not running (starting, closing or stopped)" };
}

/** The archive took the last probe's put (`ArchiveReadiness`, cached); a probe slower than `timeoutMs` is reported, and goes on. */
export async function checkArchive(ready: () => Promise<ReadinessCheck>, timeoutMs: number): Promise<ReadinessCheck> {
  try {
    return await withTimeout(ready(), timeoutMs, "archive probe");
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
