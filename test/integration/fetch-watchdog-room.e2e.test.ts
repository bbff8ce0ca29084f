import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { FetchWatchdog } from "../../src/queue/fetch-watchdog.js";
import { cleanPrefix } from "../support/kiln-harness.js";

describe("the fetch watchdog and a worker that was full", () => {
  const prefix = `{watchdog-${randomUUID().slice(0, 8)}}`;
  let redis: Redis;
  let queue: Queue;
  beforeAll(async () => {
    redis = new Redis(inject("redisUrl"));
    queue = new Queue("generate-tokenhub", { connection: { url: inject("redisUrl") }, prefix });
    // due work all along: a job waits while the worker is busy with another
    await queue.add("generate", {});
  });
  afterAll(async () => {
    await queue.close();
    await redis.quit();
    await cleanPrefix(inject("redisUrl"), prefix);
  });

  const watchdog = (busy: () => number, recovered: string[]) =>
    new FetchWatchdog({
      queue,
      redis,
      stallAfterMs: 1_000,
      busy,
      concurrency: 1,
      recover: () => Promise.resolve(void recovered.push("recovered")),
      log: createLogger({ level: "silent" }),
    });

  it("does not take the time it was full for a stall once a job ends and frees room", async () => {
    let busy = 1;
    const recovered: string[] = [];
    const dog = watchdog(() => busy, recovered);
    dog.picked();
    expect(await dog.check()).toBe(false); // full: it rightly fetches nothing
    await new Promise((r) => setTimeout(r, 1_200));
    busy = 0;
    dog.roomFreed();
    // the look lands between the end of the long job and the next fetch
    expect(await dog.check()).toBe(false);
    expect(recovered).toEqual([]);
  });

  it("still recovers a worker that had room all along and fetched nothing", async () => {
    const recovered: string[] = [];
    const dog = watchdog(() => 0, recovered);
    dog.picked();
    expect(await dog.check()).toBe(false);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await dog.check()).toBe(true);
    expect(recovered).toEqual(["recovered"]);
  });

  it("starts its clock when a rate limit ends: the time the queue was held is no stall", async () => {
    const recovered: string[] = [];
    const dog = watchdog(() => 0, recovered);
    dog.picked();
    expect(await dog.check()).toBe(false); // work is due from here on
    await queue.rateLimit(1_300);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await dog.check()).toBe(false); // held: it rightly fetches nothing
    await new Promise((r) => setTimeout(r, 600));
    // the limit has ended; the worker's next fetch is on its way
    expect(await dog.check()).toBe(false);
    expect(recovered).toEqual([]);
  });
});
