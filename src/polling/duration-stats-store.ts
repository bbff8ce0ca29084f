import type { RedisConnection } from "../queue/redis.js";
import type { DurationStats } from "./poll-schedule.js";

/**
 * Folds one observation x = ln(duration ÷ size) into a model's hash (n, mean, variance) as an
 * exponentially weighted mean and variance: weight 1/(n+1) while few tasks were seen (a plain
 * mean), never below ARGV[2], so old tasks fade once a model's speed changes. Atomic, so
 * workers finishing tasks of the same model at once never lose an update. Returns the new
 * values as strings (a Lua number returned to Redis would be truncated to an integer).
 */
const OBSERVE = `
local stored = redis.call("HMGET", KEYS[1], "n", "mean", "variance")
local n = tonumber(stored[1]) or 0
local mean = tonumber(stored[2]) or 0
local variance = tonumber(stored[3]) or 0
local x = tonumber(ARGV[1])
local alpha = math.max(1 / (n + 1), tonumber(ARGV[2]))
local diff = x - mean
local step = alpha * diff
mean = mean + step
variance = (1 - alpha) * (variance + diff * step)
n = n + 1
local out = { tostring(n), string.format("%.17g", mean), string.format("%.17g", variance) }
redis.call("HSET", KEYS[1], "n", out[1], "mean", out[2], "variance", out[3])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return out`;

type Observe = (key: string, x: string, minWeight: string, ttlMs: string) => Promise<[string, string, string]>;

export interface DurationStatsStoreOptions {
  /** Weight of the newest task once many were seen: 0.05 remembers about the last 20. @defaultValue 0.05 */
  minWeight?: number;
  /** How long a read is reused before Redis is asked again, ms. @defaultValue 10000 */
  cacheMs?: number;
  /** A model whose tasks stop finishing loses its statistics after this long, ms. @defaultValue 30 days */
  ttlMs?: number;
}

/**
 * Each model's observed task durations, per unit of request size, in one small hash per
 * provider and model under the queue prefix (`<prefix>:duration-stats:<provider>:<model>`,
 * three fields, under 100 bytes). Shared by every worker process; reads are cached in the
 * process, so a poll visit costs no extra Redis round trip most of the time.
 */
export class DurationStatsStore {
  private readonly observe: Observe;
  private readonly cache = new Map<string, { stats?: DurationStats; readAt: number }>();
  private readonly minWeight: number;
  private readonly cacheMs: number;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    options: DurationStatsStoreOptions = {},
  ) {
    this.minWeight = options.minWeight ?? 0.05;
    this.cacheMs = options.cacheMs ?? 10_000;
    this.ttlMs = options.ttlMs ?? 30 * 24 * 3600 * 1000;
    if (!(this.minWeight > 0 && this.minWeight <= 1)) throw new RangeError(`minWeight: expected a number in (0, 1], got ${this.minWeight}`);
    if (!("kilnObserveDuration" in redis)) redis.defineCommand("kilnObserveDuration", { numberOfKeys: 1, lua: OBSERVE });
    this.observe = (redis as unknown as { kilnObserveDuration: Observe }).kilnObserveDuration.bind(redis);
  }

  /** The model's statistics, undefined before any of its tasks finished (cached for `cacheMs`). */
  async get(provider: string, model: string, now = Date.now()): Promise<DurationStats | undefined> {
    const key = this.keyOf(provider, model);
    const cached = this.cache.get(key);
    if (cached && now - cached.readAt < this.cacheMs) return cached.stats;
    const [n, mean, variance] = await this.redis.hmget(key, "n", "mean", "variance");
    const stats = parse(n, mean, variance);
    this.cache.set(key, { stats, readAt: now });
    return stats;
  }

  /** Records that a task of `size` took `durationMs`; resolves with the model's new statistics. */
  async record(provider: string, model: string, durationMs: number, size = 1): Promise<DurationStats | undefined> {
    if (!(durationMs > 0) || !(size > 0)) return undefined;
    const key = this.keyOf(provider, model);
    const [n, mean, variance] = await this.observe(key, String(Math.log(durationMs / size)), String(this.minWeight), String(this.ttlMs));
    const stats = parse(n, mean, variance);
    this.cache.set(key, { stats, readAt: Date.now() });
    return stats;
  }

  keyOf(provider: string, model: string): string {
    return `${this.prefix}:duration-stats:${provider}:${model}`;
  }
}

/** Statistics from the hash's fields; undefined when missing or not numbers (never trusted blindly). */
function parse(
  n: string | null | undefined,
  mean: string | null | undefined,
  variance: string | null | undefined,
): DurationStats | undefined {
  const values = { n: Number(n), mean: Number(mean), variance: Number(variance) };
  if (n === null || n === undefined || !(values.n > 0) || !Number.isFinite(values.mean) || !(values.variance >= 0)) return undefined;
  return values;
}
