import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { GenerationRequest } from "../src/contract/generation-request.js";
import { GenerationClient } from "../src/producers/generation-client.js";
import type { BenchContext } from "./row.js";
import { BENCH_PREFIX } from "./stack.js";

/**
 * A row's size: `BENCH_<NAME>` when set (to try a row small), else the `--full` size or the
 * default one.
 */
export function sized(ctx: BenchContext, name: string, normal: number, full: number): number {
  const set = process.env[`BENCH_${name}`];
  if (set !== undefined && set !== "") {
    const value = Number(set);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`BENCH_${name}: expected a positive number, got ${set}`);
    return value;
  }
  return ctx.full ? full : normal;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Enqueues `count` kiln requests made by `requestOf`, a chunk at a time, as a producer would. */
export async function enqueueKiln(redisUrl: string, count: number, requestOf: (i: number) => GenerationRequest): Promise<void> {
  const client = new GenerationClient({ redisUrl, prefix: BENCH_PREFIX });
  try {
    for (let i = 0; i < count; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) => client.enqueue(requestOf(i + j))));
    }
  } finally {
    await client.close();
  }
}

/** Adds `count` plain jobs to a bare BullMQ queue (a baseline's work), in bulk. */
export async function enqueueBare(
  redisUrl: string,
  queueName: string,
  count: number,
  dataOf: (i: number) => Record<string, unknown> = () => ({}),
): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix: BENCH_PREFIX });
  try {
    for (let i = 0; i < count; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: "bare", data: dataOf(i + j) })));
    }
  } finally {
    await queue.close();
    await connection.quit();
  }
}

export const imageRequest = (i: number, webhookUrl?: string): GenerationRequest => ({
  provider: "tokenhub",
  model: "hy-image-v3.0",
  input: { prompt: `bench image ${i}` },
  ...(webhookUrl ? { webhook: { url: webhookUrl } } : {}),
});
