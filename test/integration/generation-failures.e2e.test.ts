import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "../../src/simulator/simulator-options.js";
import { KilnHarness } from "../support/kiln-harness.js";

describe("generation failures end as failed, with a reason, and never stop the worker", () => {
  const h = new KilnHarness();
  let raw: Queue;
  beforeAll(async () => {
    await h.start();
    raw = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  });
  afterAll(async () => {
    await raw.close();
    await h.close();
  });

  it("a provider `failed` status becomes generation.failed carrying the provider's reason", async () => {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `nope ${DIRECTIVES.fail}` }));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("failed");
    expect(status.failedReason).toContain("content policy violation");
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const hook = h.receiver.of(id)[0]!;
    expect(hook.payload.type).toBe("generation.failed");
    expect(hook.payload.data.error).toMatchObject({ code: "task_failed", providerCode: "content_policy_violation", retryable: false });
    expect((hook.payload.data.error as { message: string }).message).toContain("content policy violation");
    expect(hook.verified).toBe(true);
  });

  it("a malformed job added with raw BullMQ fails alone, naming the field, and the next good job completes", async () => {
    const bad = await raw.add("generate", { provider: "tokenhub", model: "hy-image-v3.0", input: "a string, not an object" });
    const badModel = await raw.add("generate", { provider: "tokenhub", model: "hy-image-9000", input: { prompt: "x" } });
    const badInput = await raw.add("generate", { provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "ok", LogoAdd: 1 } });
    const good = await raw.add("generate", h.request("hy-image-lite"));
    const goodStatus = await h.client.waitFor(good.id!, { timeoutMs: 20_000, provider: "tokenhub" });
    expect(goodStatus.state).toBe("completed");
    const reasons = await Promise.all([bad, badModel, badInput].map(async (j) => (await h.client.waitFor(j.id!, { timeoutMs: 10_000, provider: "tokenhub" })).failedReason));
    expect(reasons[0]).toMatch(/^invalid_request: invalid job data: input: /);
    expect(reasons[1]).toMatch(/model: unknown tokenhub model "hy-image-9000"; known: hy-image-v3.0, hy-image-lite/);
    expect(reasons[2]).toMatch(/input\.LogoAdd: parameters are lower snake_case in this API \(e\.g\. logo_add\)/);
  });

  it("an expired result URL fails the job with result_expired", async () => {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `late ${DIRECTIVES.expire}` }));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("failed");
    expect(status.result?.error).toMatchObject({ code: "result_expired", retryable: false });
    expect(status.result?.error?.message).toMatch(/answered 403/);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    expect(h.receiver.of(id)[0]!.payload.data.error).toMatchObject({ code: "result_expired" });
  });

  it("an unreadable 2xx answer to a submit fails the job without submitting again (the task may exist)", async () => {
    const prompt = `garbled ${DIRECTIVES.garbled}`;
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt }));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.result?.error).toMatchObject({ code: "internal", retryable: false });
    expect(status.result?.error?.message).toMatch(/not JSON.*not submitted again/);
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === prompt)).toHaveLength(1);
  });

  it("a job whose stored state cannot be read fails without resubmitting, and its caller hears generation.failed", async () => {
    const request = h.request("hy-image-v3.0");
    const job = await raw.add("generate", { ...request, kiln: { step: "bogus" } });
    const status = await h.client.waitFor(job.id!, { timeoutMs: 10_000, provider: "tokenhub" });
    expect(status.failedReason).toMatch(/stored job state is unreadable/);
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.metadata.prompt)).toHaveLength(0);
    await h.receiver.waitFor(() => h.receiver.of(job.id!).length === 1);
    expect(h.receiver.of(job.id!)[0]!.payload).toMatchObject({ type: "generation.failed", data: { error: { code: "internal" } } });
  });

  it("a rejected API key fails at once with the provider's message, without retries", async () => {
    h.simulator.configure({ apiKey: "a-different-key" });
    try {
      const id = await h.client.enqueue(h.request("hy-image-v3.0"));
      const status = await h.client.waitFor(id, { timeoutMs: 10_000 });
      expect(status.result?.error).toMatchObject({ code: "authentication", providerCode: "authentication_error", message: "API Key 无效" });
    } finally {
      h.simulator.configure({ apiKey: "sk-test-tokenhub-key" });
    }
  });

  it("429 and 5xx answers delay the job without failing it or spending attempts", async () => {
    h.simulator.configure({ rateLimitRate: 0.4, serverErrorRate: 0.3, retryAfterSeconds: 0 });
    try {
      const ids = await Promise.all([1, 2, 3, 4].map(() => h.client.enqueue(h.request("hy-image-v3.0"))));
      const statuses = await Promise.all(ids.map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
      expect(statuses.map((s) => s.state)).toEqual(["completed", "completed", "completed", "completed"]);
      expect(h.simulator.stats().rejected).toBeGreaterThan(0);
      // BullMQ counts the final, successful run as an attempt; a failed one would leave a stack trace
      for (const id of ids) {
        const job = (await raw.getJob(id))!;
        expect(job.stacktrace).toEqual([]);
        expect(job.attemptsMade).toBe(1);
      }
    } finally {
      h.simulator.configure({ rateLimitRate: 0, serverErrorRate: 0 });
    }
  });
});
