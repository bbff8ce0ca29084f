import type { Redis } from "ioredis";
import { envModelName } from "../config.js";

/** Caps on provider tasks in flight at once, shared by every worker process. */
export interface InflightCaps {
  /** Across all of the provider's models (`KILN_<PROVIDER>_MAX_INFLIGHT`). */
  provider?: number;
  /** Per model, keyed by the model's env name (`KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>`). */
  models: ReadonlyMap<string, number>;
}

// Each scope is a sorted set of job ids scored by when their slot lapses. Stale members (a job
// lost with its slot) are dropped first, so a crash can never leak a slot past the job's deadline.
// A job that already holds its slot gets it again: re-running the submit step is free.
const ACQUIRE = `
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
  if not redis.call('ZSCORE', key, ARGV[1]) and redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[3], ARGV[1])
end
return 1`;

/**
 * In-flight slots of one provider, in Redis: taken before submit, given back at the task's
 * terminal status, failure or deadline. Keys live under the queue prefix (a hash tag by
 * default), so the script's keys share a Redis Cluster slot.
 */
export class InflightSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly provider: string,
    private readonly caps: InflightCaps,
  ) {}

  /** True when `jobId` now holds a slot (or already did); false when the provider or model is full. */
  async acquire(jobId: string, modelId: string, lapsesAt: number): Promise<boolean> {
    const scopes = this.scopes(modelId);
    if (scopes.length === 0) return true;
    const result = await this.redis.eval(ACQUIRE, scopes.length, ...scopes.map((s) => s.key), jobId, Date.now(), lapsesAt, ...scopes.map((s) => s.cap));
    return result === 1;
  }

  async release(jobId: string, modelId: string): Promise<void> {
    const scopes = this.scopes(modelId);
    if (scopes.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { key } of scopes) pipeline.zrem(key, jobId);
    await pipeline.exec();
  }

  /** How many slots are taken now (stale ones included until the next acquire drops them). */
  async inUse(modelId?: string): Promise<number> {
    return this.redis.zcard(modelId ? this.modelKey(modelId) : this.providerKey());
  }

  /** True when no cap applies to this model, so slots need not be taken at all. */
  uncapped(modelId: string): boolean {
    return this.scopes(modelId).length === 0;
  }

  private scopes(modelId: string): Array<{ key: string; cap: number }> {
    const scopes: Array<{ key: string; cap: number }> = [];
    if (this.caps.provider) scopes.push({ key: this.providerKey(), cap: this.caps.provider });
    const modelCap = this.caps.models.get(envModelName(modelId));
    if (modelCap) scopes.push({ key: this.modelKey(modelId), cap: modelCap });
    return scopes;
  }

  private providerKey(): string {
    return `${this.prefix}:inflight:${this.provider}`;
  }

  private modelKey(modelId: string): string {
    return `${this.prefix}:inflight:${this.provider}:${envModelName(modelId)}`;
  }
}
