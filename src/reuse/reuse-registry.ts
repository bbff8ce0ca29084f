import { z } from "zod";
import { ArchivedOutput } from "../contract/generation-result.js";
import { Completion } from "../contract/completion.js";
import { Usage } from "../contract/usage.js";
import type { RedisConnection } from "../queue/redis.js";

/** What a completed generation leaves for the identical requests after it: its outputs as archived, never their links. */
export const ReusableResult = z.object({
  outputs: z.array(ArchivedOutput.omit({ href: true, expiresAt: true })),
  completion: Completion.optional(),
  usage: Usage.optional(),
});
export type ReusableResult = z.infer<typeof ReusableResult>;

/** Where a request stands against the identical ones before it. */
export type ReuseClaim =
  /** No identical request runs or completed within the TTL: this job generates, and the others wait on it. */
  | { role: "leader" }
  /** An identical request runs now (`leader`): this job waits for it instead of submitting. */
  | { role: "follower"; leader: string }
  /** An identical request completed within the TTL: this job copies its outputs. */
  | { role: "done"; from: string; result: ReusableResult };

// KEYS: record, waiters. ARGV: job id, now (ms), max age of a completed record (ms), TTL of a running record (ms).
// A completed record too old for this request (its own ttl) counts as none: this job generates anew.
const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
local job, now = ARGV[1], tonumber(ARGV[2])
if state == 'done' then
  if now - tonumber(redis.call('HGET', KEYS[1], 'doneAt')) <= tonumber(ARGV[3]) then
    redis.call('ZREM', KEYS[2], job)
    return {'done', redis.call('HGET', KEYS[1], 'leader'), redis.call('HGET', KEYS[1], 'result')}
  end
elseif state == 'running' then
  -- every look renews it: a record outlives its leader only when nobody asks
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  local leader = redis.call('HGET', KEYS[1], 'leader')
  if leader == job then return {'leader'} end
  redis.call('ZADD', KEYS[2], 'NX', now, job)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return {'follower', leader}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'running', 'leader', job, 'since', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], job)
return {'leader'}
`;

// KEYS: record, waiters. ARGV: job id, now, result JSON, TTL (ms). Returns the waiters, to wake.
const PUBLISH = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'done', 'leader', ARGV[1], 'doneAt', ARGV[2], 'result', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local waiters = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return waiters
`;

// KEYS: record, waiters. ARGV: the leader given up on, the record's state it must be in.
// Drops the record when that job still leads it in that state; returns the waiters, to wake:
// each asks again, and the first becomes the new leader.
const ABANDON = `
if redis.call('HGET', KEYS[1], 'leader') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= ARGV[2] then return {} end
redis.call('DEL', KEYS[1])
local waiters = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return waiters
`;

/**
 * Identical requests of one provider, in Redis: one record per reuse key (`reuseKey`) saying
 * which job generates it and, once it completed, what it made; beside it the jobs waiting on
 * it. A record and its waiters share a hash tag, so each call is one atomic script on one
 * Redis Cluster slot. Keys live under the un-partitioned `KILN_PREFIX`: identical requests
 * meet whichever partition holds them. Waking the waiting BullMQ jobs is the caller's.
 *
 * A running record has a TTL too, renewed by every claim of the leader or a waiter, and longer
 * than the leader can go without one (a re-check in line, then its task and archiving): one
 * whose leader vanished without a word is dropped by the first waiter that finds its leader
 * gone (`abandon`), and by its TTL when nobody asks.
 */
export class ReuseRegistry {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  /** Where `jobId` stands: leader, follower of the job generating, or reuser of a result at most `maxAgeMs` old. */
  async claim(key: string, jobId: string, maxAgeMs: number, runningTtlMs: number, now = Date.now()): Promise<ReuseClaim> {
    const answer = (await this.run(CLAIM, key, jobId, now, maxAgeMs, Math.ceil(runningTtlMs))) as string[];
    if (answer[0] === "follower") return { role: "follower", leader: answer[1]! };
    if (answer[0] === "done") {
      const result = ReusableResult.safeParse(safeJson(answer[2]));
      // a record this version cannot read is given up on: the job generates, and its result replaces it
      if (result.success) return { role: "done", from: answer[1]!, result: result.data };
      await this.abandon(key, answer[1]!, "done");
      return this.claim(key, jobId, maxAgeMs, runningTtlMs, now);
    }
    return { role: "leader" };
  }

  /** Offers `jobId`'s completed result for `ttlMs`; returns the jobs that waited on it, to wake. */
  async publish(key: string, jobId: string, result: ReusableResult, ttlMs: number, now = Date.now()): Promise<string[]> {
    return (await this.run(PUBLISH, key, jobId, now, JSON.stringify(result), Math.ceil(ttlMs))) as string[];
  }

  /**
   * Drops the record when `leader` still holds it in `state`: a leader that failed, a leader found
   * gone, or a result whose objects are gone. Returns the jobs that waited on it, to wake.
   */
  async abandon(key: string, leader: string, state: "running" | "done" = "running"): Promise<string[]> {
    return (await this.run(ABANDON, key, leader, state)) as string[];
  }

  /** Stops `jobId` waiting on `key` (it failed or was cancelled while it waited). */
  async leave(key: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.waitersKey(key), jobId);
  }

  /** The job generating `key` now, or undefined when none is (completed, given up, or never). */
  async runningLeader(key: string): Promise<string | undefined> {
    const [state, leader] = await this.redis.hmget(this.recordKey(key), "state", "leader");
    return state === "running" ? (leader ?? undefined) : undefined;
  }

  private run(script: string, key: string, ...args: Array<string | number>): Promise<unknown> {
    return this.redis.eval(script, 2, this.recordKey(key), this.waitersKey(key), ...args);
  }

  private recordKey(key: string): string {
    return `${this.prefix}:reuse:{${key}}`;
  }

  private waitersKey(key: string): string {
    return `${this.recordKey(key)}:waiters`;
  }
}

function safeJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
