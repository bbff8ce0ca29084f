import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Command } from "commander";
import cliProgress from "cli-progress";
import { loadEnvironment, pricesOf, queueLocationOf } from "../config/index.js";
import { BatchProducer } from "../producers/batch-producer.js";
import { GenerationClient } from "../producers/generation-client.js";
import { readManifest } from "../batches/manifest-reader.js";
import { connectRedis, redisTargetOf } from "../queue/redis.js";
import type { BatchStatus } from "../batches/batch-status.js";
import { EXIT } from "./cli-exit.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { printJson, stderrLogger } from "./cli-output.js";
import { reuseOf, type ReuseFlags } from "./reuse-flags.js";

/** `kiln bulk <manifest.jsonl>`: a JSONL manifest (one request per line, with custom_id) as one batch. */
export function bulkCommand(): Command {
  return new Command("bulk")
    .description("enqueue a JSONL manifest (one request per line, each with a custom_id) as one batch")
    .argument("<manifest>", "path of the .jsonl manifest")
    .option("--batch-id <id>", "batch id (default: derived from the manifest's bytes, so a re-run finds the same batch)")
    .option("--webhook <url>", "receives batch.completed with the counts and the results file")
    .option("--archive-prefix <prefix>", "key prefix of results.jsonl in the archive store", "kiln")
    .option("--wait", "show completed / failed / in flight until the batch ends (exit 1 when a job failed)")
    .option("--tenant <id>", "the batch's tenant, which every line takes (a line naming another one is invalid)")
    .option("--budget <amount>", "stop submitting once the batch's cost reaches this amount (KILN_PRICES' currency; needs KILN_PRICES)")
    .option("--reuse-ttl <seconds>", "reuse identical generations at most this old, for every line without its own reuse (docs/reuse.md)")
    .option("--reuse-unseeded", "with --reuse-ttl: reuse lines without a seed too")
    .option("--json", "print one JSON document at the end: what was enqueued and, with --wait, the batch's final status")
    .action(async (path: string, o: BulkOptions) => {
      const env = loadEnvironment();
      const prices = o.budget === undefined ? undefined : pricesOf(env);
      // the size first: it names a missing manifest, which the hash below would only crash on
      const size = await sizeOf(path);
      const batchId = o.batchId ?? (await defaultBatchId(path));
      // bars on a terminal only; elsewhere (CI, pipes) plain counted lines (plainLines)
      const bars = process.stderr.isTTY
        ? new cliProgress.MultiBar(
            { format: "{task} [{bar}] {percentage}% | {detail}", hideCursor: true, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      const plain = plainLines();
      const reading = bars?.create(Math.max(1, size), 0, { task: "enqueue", detail: "" });
      const connection = connectRedis(redisTargetOf(env), "producer");
      const producer = new BatchProducer(connection, env.KILN_PREFIX, stderrLogger(), env.KILN_PARTITIONS);
      try {
        const enqueued = await producer.enqueue(
          readManifest(path, (bytes) => reading?.update(bytes)),
          {
            batchId,
            webhook: o.webhook ? { url: o.webhook } : undefined,
            archivePrefix: o.archivePrefix,
            tenant: o.tenant,
            reuse: reuseOf(o),
            budget: o.budget,
            prices,
            maxJobBytes: env.KILN_MAX_JOB_BYTES,
            // on a terminal the bars redraw around logged lines; elsewhere (CI, pipes) they are plain lines
            onInvalid: (line, message) =>
              bars ? bars.log(`line ${line}: ${message}\n`) : process.stderr.write(`line ${line}: ${message}\n`),
            onProgress: (p) => {
              reading?.update({ detail: `${p.accepted} jobs, ${p.invalid} invalid lines` });
              plain(`enqueue: ${p.lines} lines read, ${p.accepted} jobs, ${p.invalid} invalid lines`);
            },
          },
        );
        reading?.update(Math.max(1, size));
        bars?.stop();
        // with --json, stdout holds the final document alone: the human line goes to stderr
        (o.json ? console.error : console.log)(
          enqueued.alreadyCompleted
            ? `batch ${batchId} already completed: nothing added`
            : enqueued.alreadySealed
              ? `batch ${batchId} already enqueued (${enqueued.total} jobs, ${enqueued.invalid} invalid lines): nothing added`
              : `batch ${batchId}: ${enqueued.total} jobs (${enqueued.added} new), ${enqueued.invalid} invalid lines`,
        );
        // a batch with invalid lines, or (with --wait) failed jobs, did not fully succeed: exit 1 (docs/cli.md)
        const status = o.wait ? await watch(env, batchId, o.json === true) : undefined;
        const failed = status?.summary?.counts.failed ?? status?.counts.failed ?? 0;
        if (o.json) printJson({ ...enqueued, ...(status ? { status } : {}) });
        if (enqueued.invalid > 0 || failed > 0) process.exitCode = EXIT.failed;
      } finally {
        bars?.stop();
        await producer.close();
        await connection.quit().catch(() => undefined);
      }
    });
}

interface BulkOptions extends ReuseFlags {
  batchId?: string;
  webhook?: string;
  archivePrefix: string;
  tenant?: string;
  wait?: boolean;
  budget?: string;
  json?: boolean;
}

/** The manifest's size; a missing or unreadable one is an input error naming it (exit 2), not a crash. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidRequestError(
      `manifest: cannot read ${path} (${code === "ENOENT" ? "no such file" : (code ?? (err as Error).message)})`,
    );
  }
}

/** A batch id from the manifest's bytes: the same file always names the same batch. */
async function defaultBatchId(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `batch-${hash.digest("hex").slice(0, 16)}`;
}

/**
 * On a terminal nothing (the bars show progress); elsewhere writes `line` to stderr when it
 * changed, at most every 2 s, so a log gets a few counted lines instead of a redrawn bar.
 */
function plainLines(everyMs = 2000): (line: string) => void {
  let last = "";
  let at = 0;
  return (line) => {
    if (process.stderr.isTTY || line === last || Date.now() - at < everyMs) return;
    process.stderr.write(`${line}\n`);
    [last, at] = [line, Date.now()];
  };
}

/** Live completed / failed / in flight, until the batch's parent job completes; returns its last status. */
async function watch(env: ReturnType<typeof loadEnvironment>, batchId: string, json: boolean): Promise<BatchStatus | undefined> {
  const client = new GenerationClient({ ...queueLocationOf(env), log: stderrLogger() });
  const bars = process.stderr.isTTY
    ? new cliProgress.MultiBar(
        {
          format: "jobs    [{bar}] {value}/{total} | {completed} completed, {failed} failed, {pending} in flight",
          hideCursor: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const plain = plainLines();
  try {
    let status = await client.getBatch(batchId);
    const bar = bars?.create(Math.max(1, status?.total ?? 1), 0, { completed: 0, failed: 0, pending: 0 });
    while (status && status.state !== "completed") {
      bar?.setTotal(Math.max(1, status.total));
      bar?.update(status.counts.completed + status.counts.failed, status.counts);
      plain(`jobs: ${status.counts.completed} completed, ${status.counts.failed} failed, ${status.counts.pending} in flight`);
      await new Promise((r) => setTimeout(r, 500));
      status = await client.getBatch(batchId);
    }
    bars?.stop();
    const summary = status?.summary;
    if (summary) {
      const cost = summary.totals?.cost ? `; cost ${summary.totals.cost.amount} ${summary.totals.cost.currency}` : "";
      const stopped = summary.reason === "budget_exhausted" ? " (stopped by its budget)" : "";
      (json ? console.error : console.log)(
        `batch ${batchId} completed${stopped}: ${summary.counts.completed} completed, ${summary.counts.failed} failed, ` +
          `${summary.counts.invalid} invalid lines${cost}; results at ${summary.results.url}`,
      );
      // KILN_OUTPUT_URLS=presigned: a link to results.jsonl that needs no S3 credentials (docs/cli.md)
      // the store (and the AWS SDK, ~10 MB of heap) loads only then: kiln bulk stays light under a small heap
      const storage = env.KILN_OUTPUT_URLS === "presigned" ? await import("../storage/index.js") : undefined;
      const presign = storage?.outputLinksOf(env, storage.createArchiveStore(env));
      const link = presign && (await presign({ key: summary.results.key, contentType: "application/x-ndjson" }));
      if (link) (json ? console.error : console.log)(`results href (valid until ${link.expiresAt}): ${link.href}`);
    }
    return status;
  } finally {
    bars?.stop();
    await client.close();
  }
}
