import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, inject } from "vitest";
import { cleanPrefix } from "./kiln-harness.js";

/**
 * A connection to the run's Redis and a prefix of the file's own, opened before its tests and
 * closed (the prefix's keys deleted) after them. Call at the top of a test file.
 */
export function useTestRedis(): { prefix: string; redis: () => Redis } {
  const prefix = `{kiln-${randomUUID().slice(0, 8)}}`;
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
  });
  afterAll(async () => {
    await redis?.quit();
    await cleanPrefix(inject("redisUrl"), prefix);
  });
  return {
    prefix,
    redis: () => {
      if (!redis) throw new Error("useTestRedis: the connection opens in beforeAll");
      return redis;
    },
  };
}
