import type { RedisConnection } from "../queue/redis.js";
import { envModelName } from "./env-model-name.js";

/** Caps on provider tasks in flight at once, shared by every worker process. */
export interface InflightCaps {
  /** Across all of the provider's models (`KILN_<PROVIDER>_MAX_INFLIGHT`). */
  provider?: number;
  /** Per model, keyed by the model's env name (`KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>`). */
  models: ReadonlyMap<string, number>;
}

/** One in-flight cap now: `model` is `*` for the provider-wide cap, else the model's env name. */
export interface SlotScopeUsage {
  model: string;
  cap: number;
  inUse: number;
  waiting: number;
}

/** What `acquire` found: whether the job holds a slot, and waiters just handed one, to wake. */
export interface SlotAnswer {
  held: boolean;
  granted: string[];
}

// One script for every operation, so taking, giving back and handing over slots are atomic.
//
// Keys (all under one hash tag): KEYS[1] grants hash, KEYS[2] arrival counter, KEYS[3] the
// provider's holders, KEYS[4] the provider-wide waiting lane, then per capped model its holders
// and its lane. Holders are sorted sets of job ids scored by when their lease ends; a lane is a
// sorted set of waiting job ids scored by enqueue time (ms, plus arrival order within the ms).
// A job waits in one lane: its model's when the model is capped, else the provider-wide one.
//
// A held slot is a lease: once it ends, the holder is a suspect that the sweep checks against
// its BullMQ job (SlotHandoff) and either renews (`renew`) or takes back (`reclaim`, which only
// acts while the lease is still over, so a job that claimed the slot again in the meantime
// keeps it). Nothing here drops a holder on its own: Redis cannot see whether the job still
// waits on its task. Every call hands free slots to the oldest lane heads that fit, so no head
// that could run is ever left waiting (the invariant that makes "an arriving job takes a free
// slot only when its lane is empty" fair). A handed slot (a grant) lapses after the grant TTL
// if its job never comes to claim it (the waker crashed before promoting it); the job then goes
// back to the head of its lane and is handed the slot again, and whoever runs the script wakes it.
//
// ARGV: now, provider cap (0: none), the model caps, grant TTL, op, job id, lane (0: provider-wide,
// i: model i), enqueued at, lease end. Returns {held or reclaimed (0/1), granted ids...}.
const SLOTS = `
local now = tonumber(ARGV[1])
local capP = tonumber(ARGV[2])
local n = (#KEYS - 4) / 2
local grantTtl = tonumber(ARGV[3 + n])
local op, jobId, lane = ARGV[4 + n], ARGV[5 + n], tonumber(ARGV[6 + n])
local G, SEQ, P = KEYS[1], KEYS[2], KEYS[3]
local function laneKey(i) if i == 0 then return KEYS[4] end return KEYS[4 + 2 * i] end
local function scopes(i)
  local s = {}
  if capP > 0 then s[#s + 1] = { P, capP } end
  if i > 0 then s[#s + 1] = { KEYS[3 + 2 * i], tonumber(ARGV[2 + i]) } end
  return s
end
local function fits(i, id)
  for _, s in ipairs(scopes(i)) do
    if not (id and redis.call('ZSCORE', s[1], id)) and redis.call('ZCARD', s[1]) >= s[2] then return false end
  end
  return true
end
local function leaveAll(id)
  for k = 3, #KEYS do redis.call('ZREM', KEYS[k], id) end
  redis.call('HDEL', G, id)
end
local granted = { 0 }
if op == 'release' then leaveAll(jobId) end
if op == 'reclaim' and redis.call('HEXISTS', G, jobId) == 0 then
  local lapsed = false
  for k = 3, #KEYS, 2 do
    local score = redis.call('ZSCORE', KEYS[k], jobId)
    if score then
      if tonumber(score) > now then lapsed = false break end
      lapsed = true
    end
  end
  if lapsed then leaveAll(jobId) granted[1] = 1 end
end
if op == 'renew' and redis.call('HEXISTS', G, jobId) == 0 then
  for k = 3, #KEYS, 2 do
    if redis.call('ZSCORE', KEYS[k], jobId) then redis.call('ZADD', KEYS[k], ARGV[8 + n], jobId) end
  end
end
for k = 3, #KEYS, 2 do
  if k > 3 or capP > 0 then
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', now)) do
      local grant = redis.call('HGET', G, id)
      if grant then
        local score, key = string.match(grant, '^([^|]+)|(.*)$')
        leaveAll(id)
        redis.call('ZADD', key, score, id)
      end
    end
  end
end
for _ = 1, 1000 do
  local best, bestId, bestScore
  for i = (capP > 0 and 0 or 1), n do
    local head = redis.call('ZRANGE', laneKey(i), 0, 0, 'WITHSCORES')
    if head[1] and (not best or tonumber(head[2]) < tonumber(bestScore)) and fits(i) then
      best, bestId, bestScore = i, head[1], head[2]
    end
  end
  if not best then break end
  redis.call('ZREM', laneKey(best), bestId)
  for _, s in ipairs(scopes(best)) do redis.call('ZADD', s[1], now + grantTtl, bestId) end
  redis.call('HSET', G, bestId, bestScore .. '|' .. laneKey(best))
  granted[#granted + 1] = bestId
end
if op ~= 'acquire' then return granted end
local mine = scopes(lane)
local holds = true
for _, s in ipairs(mine) do
  if not redis.call('ZSCORE', s[1], jobId) then holds = false end
end
if holds or (fits(lane, jobId) and redis.call('ZCARD', laneKey(lane)) == 0) then
  for _, s in ipairs(mine) do redis.call('ZADD', s[1], ARGV[8 + n], jobId) end
  redis.call('HDEL', G, jobId)
  redis.call('ZREM', laneKey(lane), jobId)
  granted[1] = 1
elseif not redis.call('ZSCORE', laneKey(lane), jobId) then
  redis.call('ZADD', laneKey(lane), tonumber(ARGV[7 + n]) + (redis.call('INCR', SEQ) % 1024) / 1024, jobId)
end
return granted`;

/** How long a slot handed to a waiting job stays reserved for it before it is handed again. @defaultValue 60 s */
export const DEFAULT_GRANT_TTL_MS = 60_000;

/**
 * How long a held slot goes unchecked (`KILN_SLOT_LEASE`): then the sweep asks whether its job
 * still waits on its task, and takes the slot back when not. @defaultValue 25 s
 */
export const DEFAULT_SLOT_LEASE_MS = 25_000;

/**
 * In-flight slots of one provider, in Redis: taken before submit, given back at the task's
 * terminal status, failure or deadline. A job that finds its scope full waits in a lane, in
 * enqueue order, and is handed a slot when one frees: the caller wakes the jobs each call
 * returns in `granted`. Keys live under the un-partitioned `KILN_PREFIX` (`{kiln}:inflight:...`),
 * a hash tag of their own: the script's keys share one Redis Cluster slot, and the caps hold
 * across every partition. Waking the BullMQ jobs (in their partitions) is a separate call.
 */
export class InflightSlots {
  private readonly modelNames: string[];

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly provider: string,
    private readonly caps: InflightCaps,
    private readonly grantTtlMs = DEFAULT_GRANT_TTL_MS,
    /** How long a held slot goes unchecked, and how often the head of a line looks again by itself. */
    readonly leaseMs = DEFAULT_SLOT_LEASE_MS,
  ) {
    // every process must number the lanes alike: sorted names, not the environment's order
    this.modelNames = [...caps.models.entries()]
      .filter(([, cap]) => cap > 0)
      .map(([name]) => name)
      .sort();
  }

  /**
   * `held` when `jobId` now holds a slot (or already did, or was handed one), its lease renewed;
   * otherwise the job waits in its lane, ordered by `enqueuedAt`, until a release hands it a slot.
   */
  async acquire(jobId: string, modelId: string, enqueuedAt: number): Promise<SlotAnswer> {
    if (this.uncapped(modelId)) return { held: true, granted: [] };
    const [held, ...granted] = await this.run("acquire", jobId, this.laneOf(modelId), enqueuedAt);
    return { held: held === 1, granted: granted as string[] };
  }

  /** Holders whose lease is over (grants excepted: they lapse by themselves): each to be checked, then renewed or reclaimed. */
  async lapsed(): Promise<string[]> {
    if (!this.capped()) return [];
    const now = Date.now();
    const keys = [...(this.caps.provider ? [this.providerKey()] : []), ...this.modelNames.map((name) => this.modelKey(name))];
    const ids = [...new Set((await Promise.all(keys.map((key) => this.redis.zrangebyscore(key, "-inf", now)))).flat())];
    if (ids.length === 0) return [];
    const grants = await this.redis.hmget(`${this.providerKey()}:grants`, ...ids);
    return ids.filter((_, i) => grants[i] === null);
  }

  /** Extends `jobId`'s lease (when it still holds a slot): its job was found still waiting on its task. */
  async renew(jobId: string): Promise<void> {
    if (this.capped()) await this.run("renew", jobId);
  }

  /**
   * Takes back `jobId`'s slot if its lease is still over (a job that claimed it again since it
   * was found lapsed keeps it). Returns whether it was taken back and the waiters handed a slot.
   */
  async reclaim(jobId: string): Promise<{ reclaimed: boolean; granted: string[] }> {
    if (!this.capped()) return { reclaimed: false, granted: [] };
    const [reclaimed, ...granted] = await this.run("reclaim", jobId);
    return { reclaimed: reclaimed === 1, granted: granted as string[] };
  }

  /** Gives back the job's slot or its place in a lane; returns the waiters handed a slot, to wake. */
  async release(jobId: string): Promise<string[]> {
    if (!this.capped()) return [];
    return (await this.run("release", jobId)).slice(1) as string[];
  }

  /** Drops lapsed slots and hands free ones over (also to jobs whose earlier wake-up was lost); returns whom to wake. */
  async sweep(): Promise<string[]> {
    if (!this.capped()) return [];
    return (await this.run("sweep", "")).slice(1) as string[];
  }

  /** True when `jobId` holds a slot or was handed one. */
  async holds(jobId: string): Promise<boolean> {
    const key = this.caps.provider ? this.providerKey() : undefined;
    if (key) return (await this.redis.zscore(key, jobId)) !== null;
    const scores = await Promise.all(this.modelNames.map((name) => this.redis.zscore(this.modelKey(name), jobId)));
    return scores.some((s) => s !== null);
  }

  /** How many slots are taken now (handed ones included; lapsed ones until the sweep reclaims them). */
  async inUse(modelId?: string): Promise<number> {
    return this.redis.zcard(modelId ? this.modelKey(envModelName(modelId)) : this.providerKey());
  }

  /**
   * Each cap's slots taken now (handed ones included) and jobs waiting in its lane: the
   * provider-wide cap as model `*`, then each capped model by its env name. Empty when uncapped.
   */
  async usage(): Promise<SlotScopeUsage[]> {
    const scopes = [
      ...(this.caps.provider ? [{ model: "*", cap: this.caps.provider, key: this.providerKey(), lane: this.laneKey() }] : []),
      ...this.modelNames.map((name) => ({
        model: name,
        cap: this.caps.models.get(name) ?? 0,
        key: this.modelKey(name),
        lane: this.laneKey(name),
      })),
    ];
    return Promise.all(
      scopes.map(async ({ model, cap, key, lane }) => {
        const [inUse, waiting] = await Promise.all([this.redis.zcard(key), this.redis.zcard(lane)]);
        return { model, cap, inUse, waiting };
      }),
    );
  }

  /** How many jobs wait for a slot, in every lane. */
  async waiting(): Promise<number> {
    const counts = await Promise.all(this.laneKeys().map((key) => this.redis.zcard(key)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** How many jobs wait ahead of `jobId` in its lane; 0 when it waits in none (or heads one). */
  async ahead(jobId: string): Promise<number> {
    const ranks = await Promise.all(this.laneKeys().map((key) => this.redis.zrank(key, jobId)));
    return ranks.find((r) => r !== null) ?? 0;
  }

  /** True when no cap applies to this model, so slots need not be taken at all. */
  uncapped(modelId: string): boolean {
    return !this.caps.provider && this.laneOf(modelId) === 0;
  }

  /** True when the provider or any of its models is capped. */
  capped(): boolean {
    return Boolean(this.caps.provider) || this.modelNames.length > 0;
  }

  private run(
    op: "acquire" | "release" | "sweep" | "renew" | "reclaim",
    jobId: string,
    lane = 0,
    enqueuedAt = 0,
  ): Promise<Array<number | string>> {
    const keys = [`${this.providerKey()}:grants`, `${this.providerKey()}:seq`, this.providerKey(), this.laneKey()];
    for (const name of this.modelNames) keys.push(this.modelKey(name), this.laneKey(name));
    const caps = this.modelNames.map((name) => this.caps.models.get(name) ?? 0);
    const now = Date.now();
    const args = [now, this.caps.provider ?? 0, ...caps, this.grantTtlMs, op, jobId, lane, enqueuedAt, now + this.leaseMs];
    return this.redis.eval(SLOTS, keys.length, ...keys, ...args) as Promise<Array<number | string>>;
  }

  /** 1 + the index of the model's cap, or 0 for the provider-wide lane (or an uncapped model). */
  private laneOf(modelId: string): number {
    return this.modelNames.indexOf(envModelName(modelId)) + 1;
  }

  private laneKeys(): string[] {
    return [this.laneKey(), ...this.modelNames.map((name) => this.laneKey(name))];
  }

  private providerKey(): string {
    return `${this.prefix}:inflight:${this.provider}`;
  }

  private modelKey(name: string): string {
    return `${this.prefix}:inflight:${this.provider}:${name}`;
  }

  private laneKey(name?: string): string {
    return name ? `${this.modelKey(name)}:waiting` : `${this.providerKey()}:waiting`;
  }
}
