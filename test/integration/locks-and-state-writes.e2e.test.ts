import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { CancelRequests } from "../../src/cancel/cancel-requests.js";
import { STATE_FIELD, readState } from "../../src/queue/kiln-job.js";
import { LockLostError, OwnedLock } from "../../src/queue/owned-lock.js";
import { initialState } from "../../src/state/job-state.js";
import { JobStateStore, LostJobError } from "../../src/workers/job-state-store.js";
import { useTestRedis } from "../support/test-redis.js";

const { prefix, redis: testRedis } = useTestRedis();
let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});

describe("OwnedLock", () => {
  it("only its owner releases or refreshes it, even after it lapsed and another took it", async () => {
    const key = `${prefix}:lock:${randomUUID()}`;
    const first = (await OwnedLock.acquire(redis, key, 50))!;
    expect(first).toBeDefined();
    expect(await OwnedLock.acquire(redis, key, 50)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 80));
    const second = (await OwnedLock.acquire(redis, key, 10_000))!;
    expect(second).toBeDefined();
    // the first holder wakes up late: it must neither extend nor delete the second's lock
    await expect(first.refresh()).rejects.toBeInstanceOf(LockLostError);
    expect(await first.release()).toBe(false);
    expect(await redis.exists(key)).toBe(1);
    await second.refresh();
    expect(await redis.pttl(key)).toBeGreaterThan(9_000);
    expect(await second.release()).toBe(true);
    expect(await redis.exists(key)).toBe(0);
  });
});

describe("JobStateStore", () => {
  it("writes only while the job exists and the writer holds its lock", async () => {
    const queue = new Queue("generate-tokenhub", { connection: redis, prefix });
    try {
      const job = await queue.add("generate", { provider: "tokenhub" });
      const store = new JobStateStore(redis, prefix, "generate-tokenhub");
      const key = `${prefix}:generate-tokenhub:${job.id}`;
      const state = initialState(1, 2);
      await redis.set(`${key}:lock`, "token-a");
      await store.write(job, "token-a", state);
      expect(JSON.parse((await redis.hget(key, STATE_FIELD))!)).toEqual(state);
      // the job as BullMQ reads it carries the state, from the same HGETALL
      const read = readState(await queue.getJob(job.id!));
      expect(read).toEqual({ kind: "state", state });

      await redis.set(`${key}:lock`, "token-b"); // the stalled check gave the job to another worker
      await expect(store.write(job, "token-a", { ...state, step: "poll", taskId: "t-1" })).rejects.toBeInstanceOf(LostJobError);
      expect(JSON.parse((await redis.hget(key, STATE_FIELD))!)).toEqual(state);

      await redis.del(`${key}:lock`);
      await job.remove();
      await expect(store.write(job, "token-b", state)).rejects.toThrow(/no longer exists/);
      expect(await redis.exists(key)).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it("a write reports the job's cancel request, so a pending visit needs no GET of its own", async () => {
    const queue = new Queue("generate-tokenhub", { connection: redis, prefix });
    try {
      const job = await queue.add("generate", { provider: "tokenhub" });
      const store = new JobStateStore(redis, prefix, "generate-tokenhub");
      const key = `${prefix}:generate-tokenhub:${job.id}`;
      await redis.set(`${key}:lock`, "token-a");
      expect(await store.write(job, "token-a", initialState(1, 2))).toEqual({});
      await new CancelRequests(redis, prefix).request("generate-tokenhub", String(job.id), "changed my mind");
      expect(await store.write(job, "token-a", { ...initialState(1, 2), step: "poll", taskId: "t-1" })).toEqual({
        cancelReason: "changed my mind",
      });
      // the state is written all the same: the visit ends the job through its usual failure path
      expect(JSON.parse((await redis.hget(key, STATE_FIELD))!)).toMatchObject({ step: "poll" });
    } finally {
      await queue.close();
    }
  });

  it("a plain BullMQ producer cannot set the state: data with a `progress` key stays inside data", async () => {
    const queue = new Queue("generate-tokenhub", { connection: redis, prefix });
    const reader = new Queue("generate-tokenhub", { connection: redis, prefix });
    try {
      const job = await queue.add("generate", { [STATE_FIELD]: JSON.stringify(initialState(1, 2)) });
      expect(readState(await reader.getJob(job.id!))).toEqual({ kind: "none" });
    } finally {
      await Promise.all([queue.close(), reader.close()]);
    }
  });
});
