import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { KilnHarness, TEST_API_KEY } from "../support/kiln-harness.js";
import { until } from "../support/until.js";
import { loadEnvironment, pricesOf, queueLocationOf } from "../../src/config/index.js";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { createLogger } from "../../src/logger.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";

const PRICES = `
currency: USD
prices:
  tokenhub:
    hy-image-v3.0: { per_image: 0.2 }
    hy-image-lite: { per_image: 0.05 }
  gateway:
    qwen-image-2.0: { per_image: 0.14 }
`;

/** A TokenHub image request whose fallbacks are the gateway's qwen-image-2.0 (its own input), then TokenHub's hy-image-lite. */
function withFallbacks(h: KilnHarness, prompt: string, extra: Record<string, unknown> = {}) {
  return h.request(
    "hy-image-v3.0",
    { prompt },
    {
      fallbacks: [
        { provider: "gateway", model: "qwen-image-2.0", input: { messages: [{ role: "user", content: prompt }] } },
        { provider: "tokenhub", model: "hy-image-lite" },
      ],
      ...extra,
    },
  );
}

describe("fallbacks between models", () => {
  const h = new KilnHarness();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-fallbacks-"));
    await writeFile(join(dir, "prices.yaml"), PRICES);
    await h.start({
      env: {
        KILN_PRICES: join(dir, "prices.yaml"),
        // one task of hy-image-v3.0 at a time, for the wait trigger; the deadline, for the deadline trigger
        KILN_TOKENHUB_MAX_INFLIGHT_HY_IMAGE_V3_0: "1",
        KILN_DEADLINE_IMAGE: "2500ms",
      },
    });
  });
  afterEach(() => h.simulator.configure({ modelFaults: {} }));
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  const submitted = (prompt: string, model?: string) =>
    h.simulator.stats().submissions.filter((s) => s.prompt === prompt && (model === undefined || s.model.toLowerCase() === model)).length;

  async function ended(id: string): Promise<GenerationResult> {
    const status = await h.client.waitFor(id, { timeoutMs: 30_000 });
    expect(status.result, status.failedReason).toBeDefined();
    return status.result!;
  }

  it("model not available: the next model serves; the result names it, the attempt before it, and costs only what it spent", async () => {
    h.simulator.configure({ modelFaults: { "hy-image-v3.0": "unavailable" } });
    const prompt = `unavailable ${Date.now()}`;
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt)));
    expect(result.status).toBe("completed");
    expect(result).toMatchObject({
      provider: "tokenhub",
      model: "hy-image-v3.0",
      servedBy: { provider: "gateway", model: "qwen-image-2.0" },
    });
    expect(result.attempts).toEqual([
      expect.objectContaining({
        provider: "tokenhub",
        model: "hy-image-v3.0",
        reason: "modelNotAvailable",
        message: expect.stringMatching(/hy-image-v3\.0/),
      }),
    ]);
    expect(result.outputs).toHaveLength(1);
    expect(result.cost).toEqual({ amount: "0.14", currency: "USD" });
    expect(submitted(prompt)).toBe(1);
    expect(submitted(prompt, "qwen-image-2.0")).toBe(1);
    // its webhook is the one job's, completed
    await h.receiver.waitFor(() => h.receiver.of(result.id).some((d) => d.payload.type === "generation.completed"));
  });

  it("with that trigger off, the job fails as before, and no other model is asked", async () => {
    h.simulator.configure({ modelFaults: { "hy-image-v3.0": "unavailable" } });
    const prompt = `trigger off ${Date.now()}`;
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt, { fallbackOn: { modelNotAvailable: false } })));
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe("model_not_available");
    expect(result.servedBy).toEqual({ provider: "tokenhub", model: "hy-image-v3.0" });
    expect(result.attempts).toEqual([]);
    expect(submitted(prompt)).toBe(0);
  });

  it("a submit refused for capacity (503) moves on at once; two models refusing reach the third", async () => {
    h.simulator.configure({ modelFaults: { "hy-image-v3.0": "busy", "qwen-image-2.0": "unavailable" } });
    const prompt = `busy ${Date.now()}`;
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt)));
    expect(result.status).toBe("completed");
    expect(result.servedBy).toEqual({ provider: "tokenhub", model: "hy-image-lite" });
    expect(result.attempts!.map((a) => [a.model, a.reason])).toEqual([
      ["hy-image-v3.0", "capacity"],
      ["qwen-image-2.0", "modelNotAvailable"],
    ]);
    expect(result.cost).toEqual({ amount: "0.05", currency: "USD" });
    expect(submitted(prompt)).toBe(1);
  });

  it("N 5xx submits in a row (failedSubmits) move on; fewer are retried at the same model", async () => {
    h.simulator.configure({ modelFaults: { "hy-image-v3.0": "error" } });
    const rejected = h.simulator.stats().rejected;
    const prompt = `errors ${Date.now()}`;
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt, { fallbackOn: { failedSubmits: 2, capacity: false } })));
    expect(result.status).toBe("completed");
    expect(result.servedBy?.model).toBe("qwen-image-2.0");
    expect(result.attempts!.map((a) => a.reason)).toEqual(["failedSubmits"]);
    expect(h.simulator.stats().rejected - rejected).toBe(2);
  });

  it("a wait for an in-flight slot longer than maxWait moves on; the model it waited for never hears of the job", async () => {
    const blocker = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `blocker ${Date.now()} [sim:ms=2000]` }));
    await until("the blocker holding the one slot", async () => (await h.client.get(blocker))?.state === "delayed");
    const prompt = `waits ${Date.now()}`;
    const started = Date.now();
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt, { fallbackOn: { maxWait: 1 } })));
    expect(result.status).toBe("completed");
    expect(result.servedBy?.model).toBe("qwen-image-2.0");
    expect(result.attempts).toEqual([
      expect.objectContaining({ reason: "maxWait", message: expect.stringMatching(/in-flight slot.*maxWait 1 s/) }),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(submitted(prompt, "hy-image-v3.0")).toBe(0);
    // it left the line: the blocker's slot, once free, goes to nobody stale
    expect((await h.client.waitFor(blocker, { timeoutMs: 20_000 })).state).toBe("completed");
  });

  it("the deadline passing while a submit is still retried moves on; a task already running past it does not", async () => {
    h.simulator.configure({ modelFaults: { "hy-image-v3.0": "error" } });
    const prompt = `deadline ${Date.now()}`;
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt, { fallbackOn: { failedSubmits: 0, capacity: false } })));
    expect(result.status).toBe("completed");
    expect(result.attempts!.map((a) => a.reason)).toEqual(["deadline"]);
    h.simulator.configure({ modelFaults: {} });
    // a task that may still finish is never doubled: it times out, and no fallback runs
    const slow = `slow ${Date.now()} [sim:ms=4000]`;
    const timedOut = await ended(await h.client.enqueue(withFallbacks(h, slow)));
    expect(timedOut.status).toBe("failed");
    expect(timedOut.error?.code).toBe("timed_out");
    expect(timedOut.attempts).toEqual([]);
    expect(submitted(slow)).toBe(1);
  });

  it("a task that failed at the provider is final: no fallback runs after a terminal failure of a task", async () => {
    const prompt = `fails ${Date.now()} ${DIRECTIVES.fail}`;
    const result = await ended(await h.client.enqueue(withFallbacks(h, prompt)));
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe("task_failed");
    expect(submitted(prompt)).toBe(1);
  });

  it("a batch's budget counts every model tried: the estimate of one left after submits of unknown outcome, the cost of the one that served", async () => {
    h.simulator.configure({ modelFaults: { "hy-image-v3.0": "error" } });
    const prompt = `budget ${Date.now()}`;
    const batchId = `fallback-budget-${Date.now()}`;
    const priced = new GenerationClient({ ...queueLocationOf(h.env), prices: pricesOf(h.env) });
    try {
      await priced.enqueueBatch([{ custom_id: "one", ...withFallbacks(h, prompt, { fallbackOn: { failedSubmits: 2 } }) }], {
        batchId,
        budget: "10.00",
      });
    } finally {
      await priced.close();
    }
    await until("the batch's end", async () => (await h.client.getBatch(batchId))?.state === "completed");
    const batch = await h.client.getBatch(batchId);
    // hy-image-v3.0's estimate (0.20: it may have made a task kiln never saw), then qwen-image-2.0's cost (0.14)
    expect(batch?.budget).toMatchObject({ spent: "0.34", reserved: "0.00" });
  });

  it("a fallback is checked at enqueue like the request: an unknown model or an input it refuses names the fallback", async () => {
    await expect(h.client.enqueue(h.request("hy-image-v3.0", {}, { fallbacks: [{ provider: "gateway", model: "nope" }] }))).rejects.toThrow(
      /fallbacks\.0: /,
    );
    await expect(
      h.client.enqueue(h.request("hy-image-v3.0", {}, { fallbacks: [{ provider: "gateway", model: "qwen-image-2.0" }] })),
    ).rejects.toThrow(/fallbacks\.0: invalid input for qwen-image-2\.0/);
    // reuse holds at every model: a fallback without a seed samples anew
    const reused = { reuse: { ttl: 60 }, fallbacks: [{ provider: "tokenhub", model: "hy-image-lite", input: { prompt: "x" } }] };
    await expect(h.client.enqueue(h.request("hy-image-v3.0", { seed: 1 }, reused))).rejects.toThrow(
      /fallbacks\.0: reuse: input has no seed/,
    );
  });
});

describe("fallbacks at a provider this worker has no key for", () => {
  const h = new KilnHarness();
  beforeAll(async () => {
    await h.start({ workers: false, simulator: { modelFaults: { "hy-image-v3.0": "unavailable" } } });
    delete h.rawEnv.GATEWAY_API_KEY;
    h.env = loadEnvironment(h.rawEnv);
    await h.startWorkers();
  });
  afterAll(() => h.close());

  it("a task already running there is left to a worker that has the key, never given up for the next model", async () => {
    // the gateway task is submitted by workers holding every key
    const full = { ...h.rawEnv, GATEWAY_API_KEY: TEST_API_KEY };
    h.env = loadEnvironment(full);
    await h.workers!.close();
    h.workers = await startKilnWorkers(h.env, createLogger({ level: "silent" }), { rawEnv: full, webhookSchedule: [100] });
    const prompt = `mid-task ${Date.now()}`;
    const video = { provider: "gateway", model: "wan2.7-t2v", input: { messages: [{ role: "user", content: `${prompt} [sim:ms=3000]` }] } };
    const id = await h.client.enqueue(
      h.request("hy-image-v3.0", { prompt }, { fallbacks: [video, { provider: "tokenhub", model: "hy-image-lite" }] }),
    );
    const models = () =>
      h.simulator
        .stats()
        .submissions.filter((s) => s.prompt.startsWith(prompt))
        .map((s) => s.model);
    await until("the gateway task submitted", () => models().length === 1);
    // then only workers without the gateway's key: the job waits for one that has it
    await h.workers.close();
    h.env = loadEnvironment(h.rawEnv);
    h.workers = await startKilnWorkers(h.env, createLogger({ level: "silent" }), { rawEnv: h.rawEnv, webhookSchedule: [100] });
    await new Promise((r) => setTimeout(r, 4_000));
    expect(models()).toEqual(["wan2.7-t2v"]);
    expect((await h.client.get(id))?.state).toBe("delayed");
    await h.workers.close();
    h.env = loadEnvironment(full);
    h.workers = await startKilnWorkers(h.env, createLogger({ level: "silent" }), { rawEnv: full, webhookSchedule: [100] });
    const status = await h.client.waitFor(id, { timeoutMs: 30_000 });
    expect(status.state, status.failedReason).toBe("completed");
    expect(status.result?.servedBy).toEqual({ provider: "gateway", model: "wan2.7-t2v" });
    expect(models()).toEqual(["wan2.7-t2v"]);
    h.env = loadEnvironment(h.rawEnv);
    await h.workers.close();
    h.workers = await h.startWorkers();
  });

  it("are skipped, saying so in the attempts: the next one the worker can call serves", async () => {
    const prompt = `no key ${Date.now()}`;
    const status = await h.client.waitFor(await h.client.enqueue(withFallbacks(h, prompt)), { timeoutMs: 30_000 });
    expect(status.state, status.failedReason).toBe("completed");
    expect(status.result!.servedBy).toEqual({ provider: "tokenhub", model: "hy-image-lite" });
    expect(status.result!.attempts!.map((a) => [a.provider, a.reason, a.message])).toEqual([
      ["tokenhub", "modelNotAvailable", expect.any(String)],
      ["gateway", "notConfigured", "gateway is not configured on this worker (no API key)"],
    ]);
  });
});

describe("a fallback at a provider with an in-flight cap", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start({ simulator: { modelFaults: { "hy-image-v3.0": "unavailable" } }, env: { KILN_GATEWAY_MAX_INFLIGHT: "1" } }));
  afterAll(() => h.close());

  it("holds that provider's slot from another queue while its task runs: the next job there waits for it (cap 1)", async () => {
    const video = (prompt: string) => ({
      provider: "gateway",
      model: "wan2.7-t2v",
      input: { messages: [{ role: "user", content: prompt }] },
    });
    const first = `fallback ${Date.now()} [sim:ms=4000]`;
    const fallback = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: "x" }, { fallbacks: [video(first)] }));
    const submissions = () => h.simulator.stats().submissions;
    await until("the fallback's gateway submission", () => submissions().some((s) => s.prompt === first));
    // past a few leases (1 s at KILN_POLL_SCALE 0.02): the sweep must find the holder in its own queue
    await new Promise((r) => setTimeout(r, 2_500));
    const second = `direct ${Date.now()} [sim:ms=300]`;
    const direct = await h.client.enqueue({ ...video(second), webhook: { url: h.receiver.url } });
    expect((await h.client.waitFor(direct, { timeoutMs: 30_000 })).state).toBe("completed");
    expect((await h.client.waitFor(fallback, { timeoutMs: 30_000 })).state).toBe("completed");
    const at = (prompt: string) => submissions().find((s) => s.prompt === prompt)!.at;
    expect(at(second)).toBeGreaterThanOrEqual(at(first) + 4_000);
  });
});
