import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialState, type JobState } from "../../src/state/job-state.js";
import type { GenerationJob } from "../../src/queue/kiln-job.js";
import { InflightSlots } from "../../src/inflight/inflight-slots.js";
import { JobStateStore } from "../../src/workers/job-state-store.js";
import { SlotHandoff } from "../../src/inflight/slot-handoff.js";
import { useTestRedis } from "../support/test-redis.js";

const { prefix, redis: testRedis } = useTestRedis();
const QUEUE = "generate-tokenhub";
let redis: Redis;
let queue: Queue;
let worker: Worker;
beforeAll(() => {
  redis = testRedis();
  queue = new Queue(QUEUE, { connection: redis, prefix });
  worker = new Worker(QUEUE, null, { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix, autorun: false });
});
afterAll(async () => {
  await worker?.close();
  await queue?.close();
});

/**
 * The sweep's check of a lapsed holder, against real BullMQ jobs: each case sets up the job as a
 * worker's visit leaves it (state written through `JobStateStore`, then `moveToDelayed`), with a
 * lease of 1 ms so the holder is lapsed at once.
 */
describe("the sweep's check of a slot holder", () => {
  async function activeHolder(token: string): Promise<{ job: GenerationJob; slots: InflightSlots; store: JobStateStore; state: JobState }> {
    const added = await queue.add("generate", { provider: "tokenhub" });
    const job = (await worker.getNextJob(token)) as GenerationJob;
    expect(job.id).toBe(added.id);
    const store = new JobStateStore(redis, prefix, QUEUE);
    const state = initialState(Date.now(), 60_000);
    await store.write(job, token, state);
    const slots = new InflightSlots(redis, `${prefix}:${added.id}`, "tokenhub", { provider: 1, models: new Map() }, 60_000, 1);
    expect((await slots.acquire(job.id!, "hy-image-v3.0", 1)).held).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await slots.lapsed()).toEqual([job.id]);
    return { job, slots, store, state };
  }

  it("a holder whose submit ends between the sweep's read of its job and of its queue state keeps its slot", async () => {
    const token = "visit-1";
    const { job, slots, store, state } = await activeHolder(token);
    let reads = 0;
    const reclaimed: string[] = [];
    // the first read sees the job mid-submit (no slot recorded yet); the visit then records the
    // slot and parks the job to poll, before the sweep asks for its queue state
    const handoff = new SlotHandoff(
      slots,
      async (id) => {
        const read = (await queue.getJob(id)) as GenerationJob | undefined;
        if (reads++ === 0) {
          await store.write(job, token, { ...state, step: "poll", slot: true, taskId: "task-1", submitCalls: 1 });
          await job.moveToDelayed(Date.now() + 60_000, token);
        }
        return read;
      },
      pino({ level: "silent" }),
    );
    handoff.onReclaim((id) => reclaimed.push(id));
    const holders = `${prefix}:${job.id}:inflight:tokenhub`;
    const leaseEnd = Number(await redis.zscore(holders, job.id!));
    await handoff.sweep();
    expect(await job.getState()).toBe("delayed");
    expect(reclaimed).toEqual([]);
    expect(await slots.holds(job.id!)).toBe(true);
    // renewed, not merely skipped: its lease ends later than it did
    expect(Number(await redis.zscore(holders, job.id!))).toBeGreaterThan(leaseEnd);
  });

  it("a parked holder whose stored state records no slot (its release lost) has it taken back", async () => {
    const token = "visit-2";
    const { job, slots, store, state } = await activeHolder(token);
    await store.write(job, token, { ...state, step: "poll", slot: false, taskId: "task-2", submitCalls: 1 });
    await job.moveToDelayed(Date.now() + 60_000, token);
    const reclaimed: string[] = [];
    const handoff = new SlotHandoff(slots, async (id) => (await queue.getJob(id)) as GenerationJob | undefined, pino({ level: "silent" }));
    handoff.onReclaim((id) => reclaimed.push(id));
    await handoff.sweep();
    expect(reclaimed).toEqual([job.id]);
    expect(await slots.holds(job.id!)).toBe(false);
  });
});
