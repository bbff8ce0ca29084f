import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { Redis } from "ioredis";
import { KilnHarness } from "../support/kiln-harness.js";
import { ReuseRegistry } from "../../src/reuse/reuse-registry.js";
import { until } from "../support/until.js";

/** A seeded request of `prompt`: identical requests share one key. */
function seeded(h: KilnHarness, prompt: string, extra: Record<string, unknown> = {}) {
  return h.request("hy-image-v3.0", { prompt, seed: 7 }, { reuse: { ttl: 3600 }, ...extra });
}

function submissionsOf(h: KilnHarness, prompt: string): number {
  return h.simulator.stats().submissions.filter((s) => s.prompt === prompt).length;
}

async function completed(h: KilnHarness, id: string): Promise<GenerationResult> {
  const status = await h.client.waitFor(id, { timeoutMs: 30_000 });
  expect(status.state, status.failedReason).toBe("completed");
  return status.result!;
}

describe("reuse of identical requests (S3)", () => {
  const h = new KilnHarness();
  const s3 = inject("s3");
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-reuse-"));
    await writeFile(join(dir, "prices.yaml"), "currency: USD\nprices:\n  tokenhub:\n    hy-image-v3.0: { per_image: 0.2 }\n");
    await h.start({ env: { KILN_PRICES: join(dir, "prices.yaml") } });
  });
  afterAll(async () => {
    client.destroy();
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("two identical requests in flight at once make one submission; each completes with its own copy of the outputs", async () => {
    const prompt = `twins ${Date.now()}`;
    const [a, b] = await Promise.all([h.client.enqueue(seeded(h, prompt)), h.client.enqueue(seeded(h, prompt))]);
    const [ra, rb] = await Promise.all([completed(h, a), completed(h, b)]);
    expect(submissionsOf(h, prompt)).toBe(1);
    const [original, reused] = ra.reusedFrom === undefined ? [ra, rb] : [rb, ra];
    expect(reused.reusedFrom).toBe(original.id);
    expect(original.reusedFrom).toBeUndefined();
    // its own objects: other keys under its own job id, the same bytes
    expect(reused.outputs).toHaveLength(original.outputs.length);
    for (const [i, output] of reused.outputs.entries()) {
      expect(output.key).not.toBe(original.outputs[i]!.key);
      expect(output.key).toContain(`/${reused.id}/`);
      expect(output.sha256).toBe(original.outputs[i]!.sha256);
      const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: output.key }));
      expect(head.ContentLength).toBe(output.bytes);
    }
    // nothing spent, nothing charged; the original paid
    expect(reused.providerTaskId).toBeUndefined();
    expect(reused.usage).toEqual({ source: original.usage!.source, images: 0 });
    expect(reused.cost).toEqual({ amount: "0.00", currency: "USD" });
    expect(original.cost?.amount).not.toBe("0.00");
    // each job hears of its own completion
    await h.receiver.waitFor(() => [a, b].every((id) => h.receiver.of(id).some((d) => d.payload.type === "generation.completed")));
    const delivered = h.receiver.of(reused.id).find((d) => d.payload.type === "generation.completed")!;
    expect(delivered.verified).toBe(true);
    expect((delivered.payload.data as GenerationResult).reusedFrom).toBe(original.id);
  });

  it("an identical request within the TTL of a completed one makes no submission; after the TTL it submits again", async () => {
    const prompt = `later ${Date.now()}`;
    const first = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    const again = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    expect(submissionsOf(h, prompt)).toBe(1);
    expect(again.reusedFrom).toBe(first.id);
    // a request asking for results at most 1 s old does not take this one once it is older
    await new Promise((r) => setTimeout(r, 1_100));
    const fresh = await completed(h, await h.client.enqueue(seeded(h, prompt, { reuse: { ttl: 1 } })));
    expect(fresh.reusedFrom).toBeUndefined();
    expect(submissionsOf(h, prompt)).toBe(2);
  });

  it("the key ignores key order, the model's spelling and fields the provider never sees; it holds the seed, the model and the tenant", async () => {
    const prompt = `key ${Date.now()}`;
    const first = await completed(h, await h.client.enqueue(seeded(h, prompt, { metadata: { run: 1 } })));
    const reordered = await completed(
      h,
      await h.client.enqueue({
        reuse: { ttl: 60 },
        metadata: { run: 2 },
        input: { seed: 7, prompt },
        model: "HY-Image-V3.0",
        provider: "tokenhub",
        archive: { prefix: "elsewhere" },
      }),
    );
    expect(reordered.reusedFrom).toBe(first.id);
    expect(reordered.outputs[0]!.key.startsWith("elsewhere/")).toBe(true);
    const otherSeed = await completed(h, await h.client.enqueue(h.request("hy-image-v3.0", { prompt, seed: 8 }, { reuse: { ttl: 60 } })));
    const otherTenant = await completed(h, await h.client.enqueue(seeded(h, prompt, { tenant: "studio" })));
    const notOptedIn = await completed(h, await h.client.enqueue(h.request("hy-image-v3.0", { prompt, seed: 7 })));
    for (const result of [otherSeed, otherTenant, notOptedIn]) expect(result.reusedFrom).toBeUndefined();
    expect(submissionsOf(h, prompt)).toBe(4);
  });

  it("a request without a seed is refused reuse at enqueue, naming the field, unless it says unseeded", async () => {
    const prompt = `unseeded ${Date.now()}`;
    await expect(h.client.enqueue(h.request("hy-image-v3.0", { prompt }, { reuse: { ttl: 60 } }))).rejects.toThrow(
      /reuse: input has no seed.*reuse\.unseeded/,
    );
    await expect(h.client.enqueue(h.request("hy-image-v3.0", { prompt }, { reuse: { ttl: 0 } }))).rejects.toThrow(
      /reuse\.ttl: expected at least 1 second/,
    );
    const unseeded = { reuse: { ttl: 60, unseeded: true } };
    const first = await completed(h, await h.client.enqueue(h.request("hy-image-v3.0", { prompt }, unseeded)));
    const second = await completed(h, await h.client.enqueue(h.request("hy-image-v3.0", { prompt }, unseeded)));
    expect(second.reusedFrom).toBe(first.id);
    expect(submissionsOf(h, prompt)).toBe(1);
  });

  it("a failed original is never reused: the waiting job submits itself", async () => {
    const prompt = `doomed ${Date.now()} [sim:ms=1500]`;
    const original = await h.client.enqueue(seeded(h, prompt));
    await until("the original's submission", () => submissionsOf(h, prompt) === 1);
    const waiting = await h.client.enqueue(seeded(h, prompt));
    // it waits on the original, submitting nothing
    await until("the identical request waiting", async () => (await h.client.get(waiting))?.state === "delayed");
    expect(submissionsOf(h, prompt)).toBe(1);
    await h.client.cancel(original);
    const result = await completed(h, waiting);
    expect(result.reusedFrom).toBeUndefined();
    expect(submissionsOf(h, prompt)).toBe(2);
    expect((await h.client.get(original))?.result?.error?.code).toBe("cancelled");
  });

  it("a job cancelled while it waits on an identical request ends cancelled, and the original goes on", async () => {
    const prompt = `cancelled twin ${Date.now()} [sim:ms=1500]`;
    const original = await h.client.enqueue(seeded(h, prompt));
    await until("the original's submission", () => submissionsOf(h, prompt) === 1);
    const waiting = await h.client.enqueue(seeded(h, prompt));
    await until("the twin waiting", async () => (await h.client.get(waiting))?.state === "delayed");
    await h.client.cancel(waiting);
    const twin = await h.client.waitFor(waiting, { timeoutMs: 20_000 });
    expect(twin.state).toBe("failed");
    expect(twin.result?.error?.code).toBe("cancelled");
    expect((await completed(h, original)).reusedFrom).toBeUndefined();
    expect(submissionsOf(h, prompt)).toBe(1);
  });

  it("every look at a running generation renews its record, so it never expires under a live original", async () => {
    const redis = new Redis(inject("redisUrl"));
    const registry = new ReuseRegistry(redis, `${h.prefix}-registry`);
    const key = `k-${Date.now()}`;
    const ttl = async () => redis.pttl(`${h.prefix}-registry:reuse:{${key}}`);
    try {
      expect(await registry.claim(key, "a", 60_000, 1_000)).toEqual({ role: "leader" });
      await new Promise((r) => setTimeout(r, 600));
      expect(await ttl()).toBeLessThan(500);
      expect(await registry.claim(key, "b", 60_000, 1_000)).toEqual({ role: "follower", leader: "a" });
      expect(await ttl()).toBeGreaterThan(900);
      await new Promise((r) => setTimeout(r, 600));
      expect(await registry.claim(key, "a", 60_000, 1_000)).toEqual({ role: "leader" });
      expect(await ttl()).toBeGreaterThan(900);
    } finally {
      await redis.quit();
    }
  });

  it("a task that failed at the provider is not offered: the next identical request submits", async () => {
    const prompt = `fails ${Date.now()} ${DIRECTIVES.fail}`;
    const first = await h.client.waitFor(await h.client.enqueue(seeded(h, prompt)), { timeoutMs: 20_000 });
    expect(first.state).toBe("failed");
    const second = await h.client.waitFor(await h.client.enqueue(seeded(h, prompt)), { timeoutMs: 20_000 });
    expect(second.state).toBe("failed");
    expect(submissionsOf(h, prompt)).toBe(2);
  });
});

describe("reuse of identical requests (local store)", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start({ archive: "local" }));
  afterAll(() => h.close());

  it("copies are files of their own with the same bytes (a hard link where the file system has them)", async () => {
    const prompt = `local ${Date.now()}`;
    const first = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    const again = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    expect(again.reusedFrom).toBe(first.id);
    const [from, to] = [first.outputs[0]!, again.outputs[0]!].map((o) => fileURLToPath(o.url));
    expect(to).not.toBe(from);
    expect(await readFile(to!)).toEqual(await readFile(from!));
    expect((await stat(to!)).ino).toBe((await stat(from!)).ino);
    expect(submissionsOf(h, prompt)).toBe(1);
  });

  it("a result whose objects are gone is not reused: the job generates anew", async () => {
    const prompt = `gone ${Date.now()}`;
    const first = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    await rm(fileURLToPath(first.outputs[0]!.url));
    const again = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    expect(again.reusedFrom).toBeUndefined();
    expect(submissionsOf(h, prompt)).toBe(2);
    // and the new result is the one offered next
    const third = await completed(h, await h.client.enqueue(seeded(h, prompt)));
    expect(third.reusedFrom).toBe(again.id);
  });
});
