import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { once } from "node:events";
import { join } from "node:path";
import { BatchProducer } from "../../src/producers/batch-producer.js";
import { readManifest } from "../../src/batches/manifest-reader.js";
import { createRedis } from "../../src/queue/redis.js";
import { startRedisProcess } from "@kiln/dev-tools";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { MB, RssSampler, settle } from "../measure.js";
import { round } from "../proc-stats.js";
import { sized } from "../sizes.js";
import { BENCH_PREFIX, KILN_BIN } from "../stack.js";

const HEAP_CAP_MB = 64;

/**
 * Bulk manifest memory: enqueueing an N-line manifest as one batch (streamed, in this
 * process) against reading and parsing the same file whole; peak RSS growth of each. Then the
 * bound that matters: `kiln bulk` enqueues a 3N-line manifest with V8's old space capped at
 * 64 MB, where reading and parsing the same file whole cannot finish under that cap.
 */
export const row: BenchRow = {
  id: "manifest",
  title: "bulk manifest enqueued as a batch (peak RSS growth)",
  async run(ctx: BenchContext): Promise<RowResult> {
    const lines = sized(ctx, "MANIFEST_LINES", 100_000, 300_000);
    const redis = await startRedisProcess();
    try {
      const path = await writeManifest(ctx.scratchDir, lines);
      const size = (await stat(path)).size;

      const before = await settle();
      const sampler = new RssSampler().start();
      const started = Date.now();
      const connection = createRedis(redis.url, "producer");
      const producer = new BatchProducer(connection, BENCH_PREFIX);
      const enqueued = await producer.enqueue(readManifest(path), { batchId: `bench-manifest-${lines}` });
      const streamedPeak = sampler.stop() - before;
      await producer.close();
      await connection.quit();
      if (enqueued.total !== lines) throw new Error(`bench manifest: ${enqueued.total} of ${lines} lines enqueued`);
      const seconds = (Date.now() - started) / 1000;

      const baseBefore = await settle();
      const baseline = new RssSampler().start();
      const whole = (await readFile(path, "utf8"))
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown);
      const baselinePeak = baseline.stop() - baseBefore;
      if (whole.length !== lines) throw new Error(`bench manifest: parsed ${whole.length} of ${lines} lines`);

      const capped = await writeManifest(ctx.scratchDir, lines * 3);
      const run = (args: string[], env: Record<string, string> = {}) =>
        new Promise<number | null>((resolve) =>
          spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, ...args], {
            stdio: "ignore",
            env: { ...process.env, ...env },
          }).once("exit", resolve),
        );
      const streamedExit = await run([KILN_BIN, "bulk", capped, "--batch-id", "bench-capped"], {
        REDIS_URL: redis.url,
        KILN_PREFIX: BENCH_PREFIX,
      });
      const wholeExit = await run([
        "-e",
        `JSON.stringify(require("fs").readFileSync(${JSON.stringify(capped)}, "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l)).length)`,
      ]);
      ctx.log(
        `under a ${HEAP_CAP_MB} MB heap cap, ${lines * 3} lines: ` +
          `kiln bulk ${streamedExit === 0 ? "finished" : `failed (exit ${streamedExit})`}; ` +
          `parsing whole ${wholeExit === 0 ? "finished" : `ran out of memory (exit ${wholeExit})`}`,
      );
      return {
        id: "manifest",
        title: row.title,
        kiln: { value: round(streamedPeak / MB), unit: "MiB" },
        baseline: { value: round(baselinePeak / MB), unit: "MiB", name: "reading and parsing the file whole" },
        ratio: round(streamedPeak / baselinePeak, 3),
        goal: `\`kiln bulk\` finishes a ${lines * 3}-line manifest under a ${HEAP_CAP_MB} MB heap cap where parsing it whole cannot`,
        met: streamedExit === 0 && wholeExit !== 0,
        context: {
          lines,
          "manifest MiB": round(size / MB),
          "enqueue s": round(seconds),
          [`kiln bulk of ${lines * 3} lines under a ${HEAP_CAP_MB} MB cap`]:
            streamedExit === 0 ? "finished" : `failed (exit ${streamedExit})`,
          [`parsing ${lines * 3} lines whole under the cap`]: wholeExit === 0 ? "finished" : `ran out of memory (exit ${wholeExit})`,
        },
      };
    } finally {
      await redis.stop();
    }
  },
};

async function writeManifest(dir: string, lines: number): Promise<string> {
  const path = join(dir, `manifest-${lines}.jsonl`);
  const out = createWriteStream(path);
  for (let i = 0; i < lines; i++) {
    const line = JSON.stringify({
      custom_id: `line-${i}`,
      provider: "tokenhub",
      model: "hy-image-v3.0",
      input: { prompt: `a manifest line with some words to make it realistic, number ${i}` },
      metadata: { order: i, tags: ["bench", "manifest"] },
    });
    if (!out.write(`${line}\n`)) await once(out, "drain");
  }
  await new Promise((resolve) => out.end(resolve));
  return path;
}
