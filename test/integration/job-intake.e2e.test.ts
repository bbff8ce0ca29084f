import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BATCHES_QUEUE, generateQueueName } from "../../src/contract/queue-names.js";
import { isInvalidRequestError } from "../../src/contract/invalid-request-error.js";
import { KilnHarness } from "../support/kiln-harness.js";

/** `{a: {a: ... 1}}`, `levels` objects deep. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** The error a producer call rejects with: its message, once checked to be kiln's refusal of the request. */
async function refusal(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isInvalidRequestError(err), String(err)).toBe(true);
  return (err as Error).message;
}

describe("job intake: what any producer sends is checked where it enters", () => {
  const h = new KilnHarness();
  let raw: Queue;
  beforeAll(async () => {
    // the local store: a prefix that escapes its directory once made the worker exit
    await h.start({ archive: "local" });
    raw = new Queue(generateQueueName("tokenhub"), { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  });
  afterAll(async () => {
    await raw?.close();
    await h.close();
  });

  it("a raw BullMQ job with a bad prefix, too deep, too big or an unaddressable id fails alone with invalid_request naming the field", async () => {
    const bad: Array<{ id: string; data: Record<string, unknown>; field: string }> = [
      { id: "raw-prefix-root", data: h.request("hy-image-lite", {}, { archive: { prefix: "/" } }), field: "archive.prefix" },
      { id: "raw-prefix-up", data: h.request("hy-image-lite", {}, { archive: { prefix: "a/../../x" } }), field: "archive.prefix" },
      { id: "raw-prefix-nul", data: h.request("hy-image-lite", {}, { archive: { prefix: "a\u0000b" } }), field: "archive.prefix" },
      { id: "raw-deep", data: h.request("hy-image-lite", {}, { metadata: { deep: nested(2000) } }), field: "metadata" },
      { id: "raw-big", data: h.request("hy-image-lite", { extra: "x".repeat(2 * 1024 * 1024) }), field: "input" },
      { id: "..", data: h.request("hy-image-lite"), field: "id" },
    ];
    for (const job of bad) await raw.add("generate", job.data, { jobId: job.id });
    const good = await raw.add("generate", h.request("hy-image-lite"), { jobId: "raw-after-the-bad-ones" });

    for (const job of bad) {
      const status = await h.client.waitFor(job.id, { provider: "tokenhub", timeoutMs: 20_000 });
      expect(status.state, job.id).toBe("failed");
      expect(status.failedReason, job.id).toMatch(new RegExp(`^invalid_request: (invalid job data: )?${job.field.replace(".", "\\.")}: `));
    }
    expect((await h.client.waitFor(good.id!, { provider: "tokenhub", timeoutMs: 20_000 })).state).toBe("completed");
    // refused before the provider saw them: only the good job was submitted
    const prompts = new Set(h.simulator.stats().submissions.map((s) => s.prompt));
    for (const job of bad) expect(prompts.has((job.data.input as { prompt: string }).prompt), job.id).toBe(false);
  });

  it("the TypeScript client refuses the same requests before they reach Redis, naming the field", async () => {
    const prefix = await refusal(h.client.enqueue(h.request("hy-image-lite", {}, { archive: { prefix: "renders//x" } })));
    expect(prefix).toMatch(/^archive\.prefix: must not contain empty segments/);
    const deep = await refusal(h.client.enqueue(h.request("hy-image-lite", { extra: nested(65) })));
    expect(deep).toBe("input: nested more than 64 levels deep");
    // 64 levels is the limit itself: accepted
    await expect(h.client.enqueue(h.request("hy-image-lite", {}, { metadata: nested(64) }), { id: "client-64-deep" })).resolves.toBe(
      "client-64-deep",
    );
    const big = await refusal(h.client.enqueue(h.request("hy-image-lite", { extra: "x".repeat(1024 * 1024) })));
    expect(big).toMatch(/^input: makes the job \d+ bytes of JSON, more than the limit of 1048576 \(KILN_MAX_JOB_BYTES\)$/);
    for (const id of [".", ".."]) expect(await refusal(h.client.enqueue(h.request("hy-image-lite"), { id }))).toMatch(/^id: /);
    expect(await h.client.get(".")).toBeUndefined();
  });

  it("the batch producer refuses a bad archive prefix, a non-http(s) webhook or deep metadata before enqueueing anything", async () => {
    const lines = [{ custom_id: "one", ...h.chatRequest("wcode", "hunyuan-lite") }];
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ archivePrefix: "../../x" }, /^archivePrefix: must not contain '\.' or '\.\.' segments/],
      [{ archivePrefix: "a\u0000b" }, /^archivePrefix: must not contain control characters/],
      [{ archivePrefix: "/" }, /^archivePrefix: must not start with '\/'/],
      [{ archivePrefix: "x".repeat(513) }, /^archivePrefix: must be at most 512 bytes/],
      [{ webhook: { url: "file:///etc/passwd" } }, /^webhook\.url: /],
      [{ webhook: { url: "javascript:alert(1)" } }, /^webhook\.url: /],
      [{ webhook: { url: "gopher://example.com/" } }, /^webhook\.url: expected an http/],
      [{ metadata: { deep: nested(64) } }, /^metadata: nested more than 64 levels deep/],
    ];
    for (const [i, [options, message]] of cases.entries()) {
      const batchId = `refused-batch-${i}`;
      expect(await refusal(h.client.enqueueBatch(lines, { batchId, ...options }))).toMatch(message);
      expect(await h.client.getBatch(batchId)).toBeUndefined();
    }
    expect(await refusal(h.client.enqueueBatch(lines, { batchId: ".." }))).toMatch(/^batch id "\.\.": /);
  });

  it("a raw BullMQ batch parent with a key-escaping id, a non-http(s) webhook or deep metadata fails alone, once, naming the field", async () => {
    const batches = new Queue(BATCHES_QUEUE, { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      const base = { sealed: true, total: 0, invalid: 0, archivePrefix: "kiln", batchId: "raw-batch" };
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ batchId: "../../escaped" }, /^invalid_request: batchId: /],
        [{ webhook: { url: "file:///etc/passwd" } }, /^invalid_request: webhook\.url: expected an http/],
        [{ metadata: { deep: nested(100) } }, /^invalid_request: metadata: nested more than 64 levels deep/],
      ];
      for (const [data, reason] of cases) {
        const job = await batches.add("batch", { ...base, ...data });
        await expect.poll(async () => (await batches.getJob(job.id!))?.failedReason, { timeout: 15_000 }).toMatch(reason);
        // failed at once: no retry spent on data that cannot change
        expect((await batches.getJob(job.id!))?.attemptsMade).toBeLessThanOrEqual(1);
      }
      // the escaping id wrote no results beside the archive's prefix
      expect(existsSync(join(h.env.ARCHIVE_DIR, "escaped"))).toBe(false);
    } finally {
      await batches.close();
    }
  });
});
