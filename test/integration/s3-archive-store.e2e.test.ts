import { createCipheriv, createHash, randomUUID } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { ArchiveMemoryBudget } from "../../src/storage/archive-memory-budget.js";
import { HashingStream } from "../../src/storage/hashing-stream.js";
import { S3ArchiveStore, type S3StoreOptions } from "../../src/storage/s3-archive-store.js";
import { storedDigest } from "../support/archive-check.js";
import { sample } from "../fixtures/http-api-client.js";

const MiB = 1024 * 1024;
const stores: S3ArchiveStore[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.client.destroy()));

/** kiln's S3 store on the test run's S3 server, recording every command its client sends. */
function storeWith(options: Partial<S3StoreOptions>): { store: S3ArchiveStore; commands: string[] } {
  const s3 = inject("s3");
  const store = new S3ArchiveStore({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...options,
  });
  const commands: string[] = [];
  store.client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "recordCommands" },
  );
  stores.push(store);
  return { store, commands };
}

/** `bytes` of reproducible noise in 64 KiB chunks, as a download would arrive, and their sha256. */
function source(bytes: number, seed = "s3-store"): { body: Readable; sha256: string } {
  const chunks = (): Buffer[] => {
    const cipher = createCipheriv("aes-256-ctr", createHash("sha256").update(seed).digest(), Buffer.alloc(16));
    const out: Buffer[] = [];
    for (let at = 0; at < bytes; at += 64 * 1024) out.push(cipher.update(Buffer.alloc(Math.min(64 * 1024, bytes - at))));
    return out;
  };
  const hash = createHash("sha256");
  for (const chunk of chunks()) hash.update(chunk);
  return { body: Readable.from(chunks()), sha256: hash.digest("hex") };
}

describe("S3ArchiveStore.put", () => {
  it("counts the bytes of a multipart upload while streaming, with no HeadObject", async () => {
    const { store, commands } = storeWith({ partSize: 5 * MiB, queueSize: 2, budget: new ArchiveMemoryBudget(32 * MiB) });
    const size = 12 * MiB + 123;
    const { body, sha256 } = source(size);
    const hasher = new HashingStream();
    const key = `store-test/${randomUUID()}.mp4`;
    const stored = await store.put(key, body.pipe(hasher), "video/mp4");
    expect(stored).toEqual({ key, url: `s3://${inject("s3").bucket}/${key}`, bytes: size });
    expect({ sha256: hasher.digest(), bytes: hasher.bytes }).toEqual({ sha256, bytes: size });
    expect(commands).not.toContain("HeadObjectCommand");
    expect(commands.filter((c) => c === "UploadPartCommand")).toHaveLength(3);
    expect(commands).toContain("CompleteMultipartUploadCommand");
    expect(await storedDigest(store, key)).toEqual({ sha256, bytes: size });
  });

  it("stores a small output with one PutObject and reserves only its announced length", async () => {
    const budget = new ArchiveMemoryBudget(32 * MiB);
    const { store, commands } = storeWith({ budget });
    const { body, sha256 } = source(40_000, "small");
    const key = `store-test/${randomUUID()}.png`;
    expect((await store.put(key, body, "image/png", { length: 40_000 })).bytes).toBe(40_000);
    expect(commands).toEqual(["PutObjectCommand"]);
    expect(budget.peakBytes).toBe(40_000);
    expect(budget.heldBytes).toBe(0);
    expect(await storedDigest(store, key)).toEqual({ sha256, bytes: 40_000 });
  });

  it("refuses a source that sends more than it announced", async () => {
    const { store } = storeWith({ budget: new ArchiveMemoryBudget(32 * MiB) });
    const key = `store-test/${randomUUID()}.png`;
    await expect(store.put(key, source(50_000).body, "image/png", { length: 40_000 })).rejects.toThrow(/more than the 40000 bytes/);
    expect(await store.head(key)).toBeUndefined();
  });

  it("a download that breaks half-way leaves no object, no open upload and no held memory", async () => {
    const budget = new ArchiveMemoryBudget(32 * MiB);
    const { store, commands } = storeWith({ partSize: 5 * MiB, budget });
    const key = `store-test/${randomUUID()}.mp4`;
    const broken = Readable.from(
      (async function* () {
        yield* source(11 * MiB).body;
        throw new Error("connection reset");
      })(),
    );
    await expect(store.put(key, broken, "video/mp4")).rejects.toThrow("connection reset");
    expect(commands).toContain("AbortMultipartUploadCommand");
    expect(await store.head(key)).toBeUndefined();
    expect(budget.heldBytes).toBe(0);
  });
});

describe("S3 store errors at any moment of a put", () => {
  it("a bucket that is gone fails a small put after its bytes and a large one mid-stream, with the source stopped and no memory held", async () => {
    const budget = new ArchiveMemoryBudget(32 * MiB);
    const { store, commands } = storeWith({ bucket: `kiln-missing-${randomUUID().slice(0, 8)}`, partSize: 5 * MiB, budget });
    await expect(store.put(`store-test/${randomUUID()}.png`, source(40_000).body, "image/png")).rejects.toThrow(/bucket/i);
    const large = source(64 * MiB).body;
    await expect(store.put(`store-test/${randomUUID()}.mp4`, large, "video/mp4")).rejects.toThrow(/bucket/i);
    // refused at CreateMultipartUpload: the rest of the source is never read
    expect(commands).toEqual(["PutObjectCommand", "CreateMultipartUploadCommand"]);
    expect(large.destroyed).toBe(true);
    expect(budget.heldBytes).toBe(0);
  });
});

describe("the archive memory budget", () => {
  it("is taken for bytes that arrived, not for an announced length: a source announcing 300 GB holds none, an unrelated 8 MiB archive goes ahead", async () => {
    const budget = new ArchiveMemoryBudget(32 * MiB);
    const { store } = storeWith({ partSize: 5 * MiB, queueSize: 1, budget });
    const silent = new PassThrough();
    const announced = store.put(`store-test/${randomUUID()}.mp4`, silent, "video/mp4", { length: 300 * 1000 ** 3 });
    announced.catch(() => undefined);
    const { body, sha256 } = source(8 * MiB, "unrelated");
    const key = `store-test/${randomUUID()}.mp4`;
    expect((await store.put(key, body, "video/mp4")).bytes).toBe(8 * MiB);
    expect((await storedDigest(store, key)).sha256).toBe(sha256);
    expect(budget.heldBytes).toBe(0);
    // bytes arriving take one part, whatever was announced
    silent.write(Buffer.alloc(1000));
    await until(() => budget.heldBytes > 0);
    expect(budget.heldBytes).toBe(5 * MiB);
    silent.destroy(new Error("connection reset"));
    await expect(announced).rejects.toThrow("connection reset");
    expect(budget.heldBytes).toBe(0);
  });

  it("keeps concurrent large archives within the budget: later ones wait, the gauge never passes the limit", async () => {
    const limit = 15 * MiB;
    const budget = ArchiveMemoryBudget.forProcess(limit);
    const { store } = storeWith({ partSize: 5 * MiB, queueSize: 2 });
    expect(store.budget).toBe(budget);
    const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }), processMetrics: false });
    const gauge: Array<number | undefined> = [];
    let waited = 0;
    const scraping = setInterval(() => {
      waited = Math.max(waited, budget.waitingCount);
      void metrics.text().then((text) => gauge.push(sample(text, "kiln_archive_memory_bytes", {})));
    }, 5);
    try {
      const sources = Array.from({ length: 4 }, (_, i) => ({
        key: `store-test/${randomUUID()}.mp4`,
        ...source(16 * MiB, `concurrent-${i}`),
      }));
      const stored = await Promise.all(sources.map((s) => store.put(s.key, s.body, "video/mp4")));
      expect(stored.map((s) => s.bytes)).toEqual(sources.map(() => 16 * MiB));
      for (const s of sources) expect((await storedDigest(store, s.key)).sha256).toBe(s.sha256);
    } finally {
      clearInterval(scraping);
    }
    // one upload alone may hold 3 parts (2 in flight, 1 filling): four at once had to wait for each other
    expect(budget.peakBytes).toBeLessThanOrEqual(limit);
    expect(budget.peakBytes).toBeGreaterThanOrEqual(10 * MiB);
    expect(waited).toBeGreaterThan(0);
    const gaugeMax = Math.max(...gauge.map((g) => g ?? NaN));
    expect(gaugeMax).toBeGreaterThan(0);
    expect(gaugeMax).toBeLessThanOrEqual(limit);
    expect(sample(await metrics.text(), "kiln_archive_memory_limit_bytes", {})).toBe(limit);
    expect(budget.heldBytes).toBe(0);
    metrics.close();
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
