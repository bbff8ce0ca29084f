import type { RedisConnection } from "../queue/redis.js";
import type { JobState } from "../state/job-state.js";
import { cancelKey } from "../cancel/cancel-requests.js";
import { STATE_FIELD, type GenerationJob } from "../queue/kiln-job.js";

/**
 * Writes the state only while the job exists and this worker still holds its lock: a worker
 * that lost the job (its lock lapsed and the stalled check gave the job to another) must not
 * overwrite the new holder's state, and a removed job must not come back as a bare hash.
 * Answers with the job's cancel request when there is one (KEYS[3]): a visit learns of it from
 * the write it makes anyway, not from a GET of its own.
 */
const WRITE_STATE = `
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
if ARGV[1] ~= "" and redis.call("GET", KEYS[2]) ~= ARGV[1] then return -2 end
if ARGV[3] == "1" then
  redis.call("HSET", KEYS[1], "${STATE_FIELD}", ARGV[2], "priority", 0)
else
  redis.call("HSET", KEYS[1], "${STATE_FIELD}", ARGV[2])
end
return redis.call("GET", KEYS[3]) or 0`;

/** -1: no such job; -2: another worker holds it; 0: written; a string: written, and cancelling was asked for, with this reason. */
type WriteState = (
  jobKey: string,
  lockKey: string,
  cancelKey: string,
  token: string,
  json: string,
  firstInLine: "0" | "1",
) => Promise<number | string>;

/** Thrown when the state cannot be written because the job is gone or another worker holds it. */
export class LostJobError extends Error {
  override name = "LostJobError";
}

/**
 * Writes kiln's state of generation jobs, in a field of each job's own hash (see `STATE_FIELD`),
 * never in the producer's data; `readState` reads it back. One write is one small HSET: the
 * state, not the request beside it, and no event-stream entry (`updateProgress` adds one per call).
 */
export class JobStateStore {
  private readonly writeState: WriteState;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
    private readonly queueName: string,
  ) {
    if (!("kilnWriteState" in redis)) redis.defineCommand("kilnWriteState", { numberOfKeys: 3, lua: WRITE_STATE });
    const command = (redis as unknown as { kilnWriteState: WriteState }).kilnWriteState;
    this.writeState = command.bind(redis);
  }

  /**
   * Stores `state` for `job`, checked against the lock `token`; the job object sees it too.
   * `firstInLine` drops the job's priority to 0 (by default once it is submitted): when it is
   * promoted from the delayed set it then goes before new submissions (see NEW_WORK_PRIORITY).
   * Resolves with the reason of the job's cancel request, if one was made (see `CancelRequests`).
   */
  async write(
    job: Pick<GenerationJob, "id" | "progress">,
    token: string | undefined,
    state: JobState,
    firstInLine = state.step !== "submit",
  ): Promise<{ cancelReason?: string }> {
    const json = JSON.stringify(state);
    const jobKey = `${this.prefix}:${this.queueName}:${job.id}`;
    const written = await this.writeState(
      jobKey,
      `${jobKey}:lock`,
      cancelKey(this.prefix, this.queueName, String(job.id)),
      token ?? "",
      json,
      firstInLine ? "1" : "0",
    );
    if (written === -1) throw new LostJobError(`job ${job.id} no longer exists; its state was not written`);
    if (written === -2)
      throw new LostJobError(`job ${job.id} is held by another worker (this worker's lock lapsed); its state was not written`);
    job.progress = state;
    return typeof written === "string" ? { cancelReason: written } : {};
  }
}
