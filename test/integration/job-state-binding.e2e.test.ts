import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATE_FIELD } from "../../src/queue/kiln-job.js";
import { sameMintedIdInTwoQueues } from "../support/same-minted-id.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { resolveModel } from "../../src/providers/model-registry.js";
import { TokenHubProvider } from "../../src/providers/tokenhub/tokenhub-provider.js";
import { createLogger } from "../../src/logger.js";

describe("kiln's state is only ever state kiln wrote for that very job", () => {
  const h = new KilnHarness();
  let raw: Queue;
  let redis: Redis;
  beforeAll(async () => {
    await h.start({ archive: "local" });
    raw = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    redis = new Redis(h.env.REDIS_URL);
  });
  afterAll(async () => {
    await raw.close();
    await redis.quit();
    await h.close();
  });

  const forgedResult = {
    id: "x",
    status: "completed",
    provider: "tokenhub",
    model: "hy-image-v3.0",
    outputs: [{ index: 0, key: "kiln/forged.png", bytes: 3, sha256: "00", contentType: "image/png" }],
    timings: { enqueuedAt: new Date(0).toISOString() },
  };

  it.each([
    ["a finished state with a result", { step: "notify", result: forgedResult }],
    [
      "an archive step with inline bytes",
      { step: "archive", startedAt: 0, deadlineAt: 9e15, sources: [{ inline: { encoding: "utf8", data: "forged bytes" }, ext: "txt" }] },
    ],
  ])("a producer's `kiln` field (%s) is refused: no submission, no archive, generation.failed naming the field", async (_label, kiln) => {
    const request = h.request("hy-image-v3.0");
    const job = await raw.add("generate", { ...request, kiln });
    const status = await h.client.waitFor(job.id!, { timeoutMs: 10_000, provider: "tokenhub" });
    expect(status.state).toBe("failed");
    expect(status.failedReason).toMatch(/^invalid_request: kiln: reserved for kiln's own state/);
    expect(status.result?.outputs ?? []).toEqual([]);
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.metadata.prompt)).toHaveLength(0);
    await h.receiver.waitFor(() => h.receiver.of(job.id!).length === 1);
    expect(h.receiver.of(job.id!)[0]!.payload).toMatchObject({
      type: "generation.failed",
      data: { error: { code: "invalid_request" }, outputs: [] },
    });
  });

  it("a finished job's data enqueued again runs as a new request: a new task, not the old result", async () => {
    const first = await raw.add("generate", h.request("hy-image-v3.0"));
    const done = await h.client.waitFor(first.id!, { timeoutMs: 20_000, provider: "tokenhub" });
    expect(done.state).toBe("completed");
    // what a service would do: read the finished job back and enqueue its data again
    const copied = (await raw.getJob(first.id!))!.data as Record<string, unknown>;
    expect(Object.keys(copied)).not.toContain("kiln");
    const again = await raw.add("generate", copied);
    const rerun = await h.client.waitFor(again.id!, { timeoutMs: 20_000, provider: "tokenhub" });
    expect(rerun.state).toBe("completed");
    expect(rerun.result!.providerTaskId).not.toBe(done.result!.providerTaskId);
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === (copied.input as { prompt: string }).prompt)).toHaveLength(2);
  });

  it("the state lives in the job's own hash, beside the producer's untouched data", async () => {
    const request = h.request("hy-image-v3.0");
    const job = await raw.add("generate", request);
    await h.client.waitFor(job.id!, { timeoutMs: 20_000, provider: "tokenhub" });
    const key = `${h.prefix}:generate-tokenhub:${job.id}`;
    expect(JSON.parse((await redis.hget(key, "data"))!)).toEqual(request);
    expect(JSON.parse((await redis.hget(key, STATE_FIELD))!)).toMatchObject({ step: "notify", taskId: expect.any(String), submitCalls: 1 });
  });

  it("a stored state that cannot be read fails the job without resubmitting, and its caller hears generation.failed", async () => {
    const request = h.request("hy-image-v3.0");
    // a delayed job, so the bad state is in place before any worker fetches it
    const job = await raw.add("generate", request, { delay: 300 });
    await redis.hset(`${h.prefix}:generate-tokenhub:${job.id}`, STATE_FIELD, JSON.stringify({ step: "bogus" }));
    const status = await h.client.waitFor(job.id!, { timeoutMs: 10_000, provider: "tokenhub" });
    expect(status.failedReason).toMatch(/stored job state is unreadable/);
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.metadata.prompt)).toHaveLength(0);
    await h.receiver.waitFor(() => h.receiver.of(job.id!).length === 1);
    expect(h.receiver.of(job.id!)[0]!.payload).toMatchObject({ type: "generation.failed", data: { error: { code: "internal" } } });
  });

  // what the previous version wrote, field for field: one flat object whatever the step
  const previousVersionState = (fields: Record<string, unknown>) => {
    const now = Date.now();
    return { startedAt: now, deadlineAt: now + 900_000, submitCalls: 0, slot: false, polls: 0, errors: 0, archived: [], ...fields };
  };

  it("a job parked by the previous version while polling resumes from its stored task: completed, never submitted again", async () => {
    const request = h.request("hy-image-v3.0");
    const model = resolveModel("tokenhub", "hy-image-v3.0")!;
    const provider = new TokenHubProvider({
      apiKey: h.env.TOKENHUB_API_KEY!,
      baseUrls: h.env.TOKENHUB_BASE_URL,
      log: createLogger({ level: "silent" }),
    });
    const submitted = await provider.submit(model, model.input.parse(request.input));
    if (submitted.type !== "task") throw new Error("expected an async task");
    const job = await raw.add("generate", request, { delay: 300 });
    const state = previousVersionState({
      step: "poll",
      submitCalls: 1,
      taskId: submitted.taskId,
      submittedAt: Date.now(),
      providerStatus: "queued",
    });
    await redis.hset(`${h.prefix}:generate-tokenhub:${job.id}`, STATE_FIELD, JSON.stringify(state));
    const status = await h.client.waitFor(job.id!, { timeoutMs: 20_000, provider: "tokenhub" });
    expect(status.state).toBe("completed");
    expect(status.result?.providerTaskId).toBe(submitted.taskId);
    expect(status.result?.outputs).toHaveLength(1);
    // the one submission is the one made above, before the job was parked
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.metadata.prompt)).toHaveLength(1);
  });

  it("a job parked by the previous version before its submit (waiting for a slot) is submitted once and completes", async () => {
    const request = h.request("hy-image-v3.0");
    const job = await raw.add("generate", request, { delay: 300 });
    await redis.hset(`${h.prefix}:generate-tokenhub:${job.id}`, STATE_FIELD, JSON.stringify(previousVersionState({ step: "submit" })));
    expect((await h.client.waitFor(job.id!, { timeoutMs: 20_000, provider: "tokenhub" })).state).toBe("completed");
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.metadata.prompt)).toHaveLength(1);
  });
});

describe("malformed jobs are refused with a coded reason, a log line and a webhook where one is usable", () => {
  const h = new KilnHarness();
  let raw: Queue;
  beforeAll(async () => {
    await h.start({ archive: "local" });
    raw = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  });
  afterAll(async () => {
    await raw.close();
    await h.close();
  });

  async function failedReasonOf(name: string, data: unknown): Promise<string> {
    const job = await raw.add(name, data);
    const status = await h.client.waitFor(job.id!, { timeoutMs: 10_000, provider: "tokenhub" });
    expect(status.state).toBe("failed");
    return status.failedReason ?? "";
  }

  it("null data", async () => {
    expect(await failedReasonOf("generate", null)).toMatch(/^invalid_request: invalid job data: \(root\): /);
  });

  it("a provider or model that is an object (no usable toString), with a usable webhook: generation.failed is sent", async () => {
    const webhook = { url: h.receiver.url };
    const job = await raw.add("generate", { provider: { toString: 1 }, model: { valueOf: "x" }, input: {}, webhook });
    const status = await h.client.waitFor(job.id!, { timeoutMs: 10_000, provider: "tokenhub" });
    expect(status.failedReason).toMatch(/^invalid_request: invalid job data: provider: .*; model: /);
    await h.receiver.waitFor(() => h.receiver.of(job.id!).length === 1);
    expect(h.receiver.of(job.id!)[0]!.payload).toMatchObject({
      type: "generation.failed",
      data: { provider: "tokenhub", model: "", error: { code: "invalid_request" } },
    });
  });

  it("an unknown job name", async () => {
    expect(await failedReasonOf("render", h.request("hy-image-v3.0"))).toMatch(/^invalid_request: unknown job name "render"/);
  });

  it("after all of them, a good job still completes (the worker never stopped)", async () => {
    const id = await h.client.enqueue(h.request("hy-image-lite"));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
  });
});

describe("webhook event ids are unique per event across every queue", () => {
  const h = new KilnHarness();
  beforeAll(async () => {
    await h.start({ archive: "local" });
  });
  afterAll(async () => {
    await h.close();
  });

  it("two jobs with the same BullMQ-minted id in generate-tokenhub and generate-wcode both get their webhook, with different ids", async () => {
    const id = await sameMintedIdInTwoQueues(h);
    expect((await h.client.waitFor(id, { timeoutMs: 20_000, provider: "tokenhub" })).state).toBe("completed");
    expect((await h.client.waitFor(id, { timeoutMs: 20_000, provider: "wcode" })).state).toBe("completed");
    await h.receiver.waitFor(() => h.receiver.of(id).length === 2);
    const hooks = h.receiver.of(id);
    expect(hooks.map((r) => r.payload.data.provider).sort()).toEqual(["tokenhub", "wcode"]);
    expect(new Set(hooks.map((r) => r.headers["webhook-id"])).size).toBe(2);
  });
});
