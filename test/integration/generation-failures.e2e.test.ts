import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { STATE_FIELD } from "../../src/queue/kiln-job.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { KilnHarness, TEST_API_KEY } from "../support/kiln-harness.js";

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

  async function storedState(id: string): Promise<unknown> {
    const redis = new Redis(h.env.REDIS_URL);
    try {
      return JSON.parse((await redis.hget(`${h.prefix}:generate-tokenhub:${id}`, STATE_FIELD)) ?? "null");
    } finally {
      await redis.quit();
    }
  }

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
    const reasons = await Promise.all(
      [bad, badModel, badInput].map(async (j) => (await h.client.waitFor(j.id!, { timeoutMs: 10_000, provider: "tokenhub" })).failedReason),
    );
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

  it("an unreadable 2xx answer to a submit is an unknown outcome: submitted again by default, the task id it held logged", async () => {
    const prompt = `garbled ${DIRECTIVES.garbled} ${randomUUID()}`;
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt }));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
    const submissions = h.simulator.stats().submissions.filter((s) => s.prompt === prompt);
    // the garbled answer created a task too: the documented double, counted and logged
    expect(submissions).toHaveLength(2);
    expect(status.result?.providerTaskId).toBe(submissions[1]!.taskId);
    const state = await storedState(id);
    expect(state).toMatchObject({ submitCalls: 2, unknownTaskIds: [submissions[0]!.taskId] });
  });

  it("a rejected API key fails at once with the provider's message, without retries", async () => {
    h.simulator.configure({ apiKey: "a-different-key" });
    try {
      const id = await h.client.enqueue(h.request("hy-image-v3.0"));
      const status = await h.client.waitFor(id, { timeoutMs: 10_000 });
      expect(status.result?.error).toMatchObject({ code: "authentication", providerCode: "authentication_error", message: "API Key 无效" });
    } finally {
      h.simulator.configure({ apiKey: TEST_API_KEY });
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

describe("KILN_TOKENHUB_ON_UNKNOWN_SUBMIT=fail: never submit twice", () => {
  const h = new KilnHarness();
  beforeAll(async () => {
    await h.start({ archive: "local", env: { KILN_TOKENHUB_ON_UNKNOWN_SUBMIT: "fail" } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("an unreadable 2xx answer fails the job with submit_unknown, naming the task id it held, after one submission", async () => {
    const prompt = `garbled ${DIRECTIVES.garbled} ${randomUUID()}`;
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt }));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    const submissions = h.simulator.stats().submissions.filter((s) => s.prompt === prompt);
    expect(submissions).toHaveLength(1);
    expect(status.result?.error).toMatchObject({ code: "submit_unknown", retryable: false });
    expect(status.result?.error?.message).toContain(submissions[0]!.taskId);
  });

  it("a 5xx on submit is an unknown outcome too: failed, not retried", async () => {
    h.simulator.configure({ serverErrorRate: 1 });
    try {
      const id = await h.client.enqueue(h.request("hy-image-v3.0"));
      const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
      expect(status.result?.error).toMatchObject({ code: "submit_unknown" });
      expect(h.simulator.stats().rejected).toBe(1);
    } finally {
      h.simulator.configure({ serverErrorRate: 0 });
    }
  });
});
