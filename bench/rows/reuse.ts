import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { BatchProducer } from "../../src/producers/batch-producer.js";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { readManifest } from "../../src/batches/manifest-reader.js";
import type { ReuseOption } from "../../src/contract/generation-request.js";
import { createRedis } from "../../src/queue/redis.js";
import { round } from "../proc-stats.js";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { sized } from "../sizes.js";
import { BENCH_PREFIX, BenchStack, KilnWorkerProcess, waitUntil } from "../stack.js";

/** Share of the manifest's lines that repeat an earlier line. */
const DUPLICATE_SHARE = 0.3;

/**
 * Reuse of identical requests on a re-run bulk pipeline: an N-line manifest whose lines are 70%
 * distinct requests and 30% repeats of them, spread through the file, run three times through
 * one `kiln worker` against the simulator: without reuse (the baseline: every line is
 * submitted), with `reuse` for the whole batch (each distinct request once: repeats in flight
 * share the submission, later ones copy the result), then the same manifest again as a new
 * batch (nothing submitted: every line copies a result within the TTL). Submissions are the
 * simulator's own count.
 */
export const row: BenchRow = {
  id: "reuse",
  title: "submissions of a manifest with 30% repeated lines, with reuse and re-run (reuse vs every line submitted)",
  async run(ctx: BenchContext): Promise<RowResult> {
    const lines = sized(ctx, "REUSE_LINES", 10_000, 100_000);
    const distinct = Math.round(lines * (1 - DUPLICATE_SHARE));
    const stack = await new BenchStack().start(["--image-ms", "200", "--image-bytes", String(16 * 1024)]);
    const worker = stack.own(
      new KilnWorkerProcess(
        stack.workerEnv({ KILN_POLL_SCALE: "0.01", KILN_CONCURRENCY: "50", ARCHIVE_DIR: join(ctx.scratchDir, "archive") }),
        ctx.scratchDir,
      ),
    );
    try {
      await worker.start();
      const path = await writeManifest(ctx.scratchDir, lines, distinct);
      const runs: Array<{ label: string; submissions: number; seconds: number }> = [];
      for (const [label, reuse] of [
        ["without reuse", undefined],
        ["with reuse", { ttl: 86_400 }],
        ["re-run with reuse", { ttl: 86_400 }],
      ] as const) {
        const before = await stack.simSubmissions();
        const started = Date.now();
        await runBatch(stack, path, `bench-reuse-${runs.length}`, reuse);
        const measured = { label, submissions: (await stack.simSubmissions()) - before, seconds: (Date.now() - started) / 1000 };
        ctx.log(`${label}: ${measured.submissions} submissions for ${lines} lines in ${round(measured.seconds)} s`);
        runs.push(measured);
      }
      const [off, first, again] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
      return {
        id: row.id,
        title: row.title,
        kiln: { value: first.submissions, unit: "submissions" },
        baseline: { value: off.submissions, unit: "submissions", name: "the same manifest without reuse" },
        ratio: round(first.submissions / off.submissions, 3),
        goal: `${distinct} submissions for ${lines} lines (one per distinct request), and 0 when the manifest runs again`,
        met: first.submissions === distinct && again.submissions === 0,
        context: {
          lines,
          "distinct requests": distinct,
          ...Object.fromEntries(
            runs.flatMap((r) => [
              [`${r.label}: submissions`, r.submissions],
              [`${r.label}: s`, round(r.seconds)],
            ]),
          ),
        },
        bars: [
          { axis: "provider submissions (count)", values: Object.fromEntries(runs.map((r) => [r.label, r.submissions])) },
          { axis: "time to the batch's end (s)", values: Object.fromEntries(runs.map((r) => [r.label, round(r.seconds)])) },
        ],
      };
    } finally {
      await stack.stop();
    }
  },
};

/** Enqueues the manifest as one batch and waits for the batch to end; every job must have completed. */
async function runBatch(stack: BenchStack, path: string, batchId: string, reuse: ReuseOption | undefined): Promise<void> {
  const connection = createRedis(stack.redisUrl, "producer");
  const producer = new BatchProducer(connection, BENCH_PREFIX);
  const client = new GenerationClient({ target: { url: stack.redisUrl }, prefix: BENCH_PREFIX });
  try {
    const enqueued = await producer.enqueue(readManifest(path), { batchId, reuse });
    if (enqueued.invalid > 0) throw new Error(`bench reuse: ${enqueued.invalid} invalid lines`);
    await waitUntil(async () => (await client.getBatch(batchId))?.state === "completed", 900_000, `batch ${batchId} to end`, 250);
    const counts = (await client.getBatch(batchId))!.summary?.counts;
    if (counts && counts.failed > 0) throw new Error(`bench reuse: ${counts.failed} jobs of ${batchId} failed`);
  } finally {
    await producer.close();
    await client.close();
    await connection.quit();
  }
}

/** `lines` lines: `distinct` seeded requests, the rest repeats of them, shuffled (a fixed order: runs compare). */
async function writeManifest(dir: string, lines: number, distinct: number): Promise<string> {
  const order = Array.from({ length: lines }, (_, i) => (i < distinct ? i : (i * 7919) % distinct));
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const path = join(dir, `reuse-${lines}.jsonl`);
  const out = createWriteStream(path);
  for (const [line, request] of order.entries()) {
    const json = JSON.stringify({
      custom_id: `line-${line}`,
      provider: "tokenhub",
      model: "hy-image-v3.0",
      input: { prompt: `a lighthouse at dusk, variation ${request}`, seed: 1 },
    });
    if (!out.write(`${json}\n`)) await once(out, "drain");
  }
  await new Promise((resolve) => out.end(resolve));
  return path;
}
