import { randomUUID } from "node:crypto";
import { cancelKey } from "../cancel/cancel-requests.js";
import { generationJobOptions } from "../queue/job-options.js";
import { STATE_FIELD, type GenerationQueue } from "../queue/kiln-job.js";
import type { RedisConnection } from "../queue/redis.js";

/** How long one retry may hold its claim on a job: far longer than the two calls it makes. */
const CLAIM_MS = 30_000;

/**
 * Claims a failed job for one retry and resets kiln's state to that of a new run, atomically:
 * - the job must still be in the failed set (KEYS[2]), else -1 (it ended differently, or a
 *   retry already moved it on);
 * - no other retry may hold the claim (KEYS[4], SET NX), else -2: of two concurrent retries
 *   exactly one gets past here;
 * - the state becomes `{ "run": n + 1 }` (`RetriedState`), n the failed run's number (1 when
 *   the state has none); the priority that of new work, so the new submission queues behind
 *   those already waiting (a submitted job had dropped it to 0); the cancel request (KEYS[3]),
 *   which ended the run or would end the next one at once, is deleted.
 * Answers the new run's number. The job stays in the failed set until BullMQ's own `retry`
 * moves it: a job seen failed between the two has no result, only its `failedReason`.
 */
const CLAIM_AND_RESET = `
if redis.call("ZSCORE", KEYS[2], ARGV[1]) == false then return -1 end
if not redis.call("SET", KEYS[4], ARGV[2], "PX", ARGV[3], "NX") then return -2 end
local run = 1
local ok, state = pcall(cjson.decode, redis.call("HGET", KEYS[1], "${STATE_FIELD}") or "0")
if ok and type(state) == "table" and tonumber(state.run) then run = tonumber(state.run) end
redis.call("HSET", KEYS[1], "${STATE_FIELD}", cjson.encode({ run = run + 1 }), "priority", ARGV[4])
redis.call("DEL", KEYS[3])
return run + 1`;

/** Gives the claim back only when it is still this retry's (compare and delete). */
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

type ClaimAndReset = (jobKey: string, failedKey: string, cancel: string, claim: string, ...args: string[]) => Promise<number>;
type Release = (claim: string, token: string) => Promise<number>;

/** Why a job was not retried: it is no longer failed, or another retry of it is under way. */
export type RetryRefusal = "not_failed" | "retrying";

/**
 * Runs a failed generation job again under its own id: kiln's state reset to a new run's (the
 * request kept), its cancel request cleared, then BullMQ's `retry` moves it back to waiting with
 * a fresh budget of attempts. Resolves with the new run's number, or why it did not.
 */
export async function retryFailedJob(
  redis: RedisConnection,
  queue: GenerationQueue,
  /** The prefix of the job's partition (`KilnQueues.prefix`). */
  prefix: string,
  id: string,
): Promise<{ run: number } | { refused: RetryRefusal }> {
  const commands = redis as unknown as { kilnRetryClaim?: ClaimAndReset; kilnRetryRelease?: Release };
  if (!commands.kilnRetryClaim) {
    redis.defineCommand("kilnRetryClaim", { numberOfKeys: 4, lua: CLAIM_AND_RESET });
    redis.defineCommand("kilnRetryRelease", { numberOfKeys: 1, lua: RELEASE });
  }
  const { kilnRetryClaim, kilnRetryRelease } = redis as unknown as { kilnRetryClaim: ClaimAndReset; kilnRetryRelease: Release };
  const claim = `${queue.toKey(id)}:retry`;
  const token = randomUUID();
  const priority = String(generationJobOptions().priority ?? 0);
  const args = [id, token, String(CLAIM_MS), priority];
  const run = await kilnRetryClaim.call(redis, queue.toKey(id), queue.toKey("failed"), cancelKey(prefix, queue.name, id), claim, ...args);
  if (run === -1) return { refused: "not_failed" };
  if (run === -2) return { refused: "retrying" };
  try {
    const job = await queue.getJob(id);
    // removed between the claim and now (retention): nothing left to move
    if (!job) return { refused: "not_failed" };
    // a new run gets the attempts of a new job; attemptsStarted keeps counting visits
    await job.retry("failed", { resetAttemptsMade: true });
    return { run };
  } finally {
    await kilnRetryRelease.call(redis, claim, token).catch(() => undefined);
  }
}
