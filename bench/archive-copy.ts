import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { request } from "undici";
import { ArchiveMemoryBudget } from "../src/storage/archive-memory-budget.js";
import { HashingStream } from "../src/storage/hashing-stream.js";
import { S3ArchiveStore } from "../src/storage/s3-archive-store.js";
import { createOutboundDispatcher } from "../src/net/url-guard.js";
import { OutputFetcher } from "../src/storage/output-fetcher.js";
import { outputLimitsFor } from "../src/storage/output-limits.js";
import { streamToStore } from "../src/visit/steps/archive-step.js";
import { RssSampler, settle } from "./measure.js";

/**
 * One measured copy of a URL, alone in a fresh process (spawned by bench/rows/archive.ts), so
 * that pages freed by an earlier measurement cannot blur this one's RSS growth. Prints one
 * JSON line: bytes copied, seconds, peak RSS growth over the settled baseline.
 *
 * Modes: `kiln` (kiln's archive path: OutputFetcher → HashingStream → S3ArchiveStore),
 * `lib-storage` (a plain lib-storage Upload of the response body, default settings),
 * `file` (undici to a local file), each `copies` times at once.
 */
export interface CopyJob {
  mode: "kiln" | "lib-storage" | "file";
  url: string;
  copies: number;
  s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean };
  scratchDir: string;
  /** KILN_ARCHIVE_MEMORY for the kiln mode, bytes. */
  budgetBytes: number;
  /** kiln mode: part size and parts in flight, when not the store's defaults (for tuning runs). */
  partSize?: number;
  queueSize?: number;
}

export interface CopyResult {
  bytes: number;
  seconds: number;
  rssGrowthBytes: number;
  /** CPU time of this process during the copy (user + system), seconds. */
  cpuSeconds: number;
  /** kiln mode: the most part-buffer memory the budget held. */
  budgetPeakBytes?: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as CopyJob;
  const client = new S3Client({
    endpoint: job.s3.endpoint,
    region: job.s3.region,
    forcePathStyle: job.s3.forcePathStyle,
    credentials: { accessKeyId: job.s3.accessKeyId, secretAccessKey: job.s3.secretAccessKey },
  });
  const budget = ArchiveMemoryBudget.forProcess(job.budgetBytes);
  const store = new S3ArchiveStore({
    ...job.s3,
    credentials: { accessKeyId: job.s3.accessKeyId, secretAccessKey: job.s3.secretAccessKey },
    partSize: job.partSize,
    queueSize: job.queueSize,
  });
  const fetcher = new OutputFetcher({ dispatcher: createOutboundDispatcher({ allowPrivate: true }), allowPrivate: true });
  const keys = Array.from({ length: job.copies }, (_, i) => `bench-archive/${job.mode}-${process.pid}-${i}`);
  const copy = copier(job, { client, store, fetcher });
  await warmUp(job, client, store);
  const before = await settle();
  const sampler = new RssSampler().start(5);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const sizes = await Promise.all(keys.map((key) => copy(key)));
  const seconds = (performance.now() - started) / 1000;
  const result: CopyResult = {
    bytes: sizes.reduce((a, b) => a + b, 0),
    seconds,
    rssGrowthBytes: sampler.stop() - before,
    cpuSeconds: cpuSecondsSince(cpu),
    budgetPeakBytes: job.mode === "kiln" ? budget.peakBytes : undefined,
  };
  await Promise.all(keys.map((Key) => client.send(new DeleteObjectCommand({ Bucket: job.s3.bucket, Key })).catch(() => undefined)));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function copier(
  job: CopyJob,
  parts: { client: S3Client; store: S3ArchiveStore; fetcher: OutputFetcher },
): (key: string) => Promise<number> {
  switch (job.mode) {
    case "kiln":
      // what archiveStep does for one output, without the job around it
      return async (key) => {
        const opened = await parts.fetcher.open({ url: job.url }, outputLimitsFor("video"));
        const hasher = new HashingStream();
        const stored = await streamToStore(opened, hasher, (body) => parts.store.put(key, body, "video/mp4", { length: opened.length }));
        hasher.digest();
        return stored.bytes;
      };
    case "lib-storage":
      return async (key) => {
        const response = await request(job.url);
        let bytes = 0;
        response.body.on("data", (chunk: Buffer) => (bytes += chunk.length));
        await new Upload({
          client: parts.client,
          params: { Bucket: job.s3.bucket, Key: key, Body: response.body, ContentType: "video/mp4" },
        }).done();
        return bytes;
      };
    case "file":
      return async (key) => {
        const response = await request(job.url);
        const path = join(job.scratchDir, key.replaceAll("/", "_"));
        const file = createWriteStream(path);
        await pipeline(response.body, file);
        await rm(path, { force: true });
        return file.bytesWritten;
      };
  }
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Loads what the first request loads lazily (SDK parsers, sockets), so the baseline already holds it. */
async function warmUp(job: CopyJob, client: S3Client, store: S3ArchiveStore): Promise<void> {
  await (await request(job.url, { method: "HEAD" })).body.dump();
  if (job.mode === "file") return;
  const key = `bench-archive/warm-${process.pid}`;
  if (job.mode === "kiln") await store.putBytes(key, "warm", "text/plain");
  else await client.send(new PutObjectCommand({ Bucket: job.s3.bucket, Key: key, Body: "warm" }));
  await client.send(new DeleteObjectCommand({ Bucket: job.s3.bucket, Key: key }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
