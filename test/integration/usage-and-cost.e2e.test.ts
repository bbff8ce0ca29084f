import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { sample } from "../fixtures/http-api-client.js";

/** Test prices (not real ones), one model per unit kind. */
const PRICES = `
currency: CNY
prices:
  tokenhub:
    hy-image-v3.0: { per_image: 0.2 }
    hy-3d-3.0: { per_3d_model: 1.2 }
    hunyuan-2.0-instruct-20251111: { per_1k_prompt_tokens: 0.0008, per_1k_completion_tokens: 0.002 }
  gateway:
    qwen-image-2.0: { per_image: 0.14 }
    wan2.7-t2v: { per_second: 0.5 }
    speech-2.8-hd: { per_character: 0.0002 }
  wcode:
    hunyuan-lite: { per_1k_prompt_tokens: "0.0001", per_1k_completion_tokens: "0.0003" }
`;

/** `pico` pico-units (10^-12) as the decimal string kiln writes: at least two decimals, no trailing zeros past them. */
function decimal(pico: bigint): string {
  const whole = pico / 10n ** 12n;
  const fraction = (pico % 10n ** 12n).toString().padStart(12, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${whole}.${fraction}`;
}

describe("usage and cost in results, webhooks and metrics", () => {
  const h = new KilnHarness();
  const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }), processMetrics: false });
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-prices-"));
    await writeFile(join(dir, "prices.yaml"), PRICES);
    await h.start({ workers: false, env: { KILN_PRICES: join(dir, "prices.yaml") } });
    h.workers = await startKilnWorkers(h.env, createLogger({ level: "silent" }), {
      webhookSchedule: [100, 200, 400],
      rawEnv: h.rawEnv,
      metrics,
    });
  });
  afterAll(async () => {
    metrics.close();
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a request to completion; resolves with its result and the `generation.completed` webhook's data. */
  async function run(
    request: ReturnType<KilnHarness["request"] | KilnHarness["chatRequest"]>,
  ): Promise<{ result: GenerationResult; hook: unknown; prompt: string }> {
    const id = await h.client.enqueue(request);
    const status = await h.client.waitFor(id, { timeoutMs: 30_000 });
    expect(status.state, status.failedReason).toBe("completed");
    await h.receiver.waitFor(() => h.receiver.of(id).some((d) => d.payload.type === "generation.completed"));
    const hook = h.receiver.of(id).find((d) => d.payload.type === "generation.completed")!.payload.data;
    return { result: status.result!, hook, prompt: String(request.metadata.prompt) };
  }

  it("TokenHub images: counted from the outputs (the answer reports none), at the price per image", async () => {
    const { result, hook } = await run(h.request("hy-image-v3.0"));
    expect(result.usage).toEqual({ source: "outputs", images: 1 });
    expect(result.cost).toEqual({ amount: "0.20", currency: "CNY" });
    expect(hook).toMatchObject({ usage: result.usage, cost: result.cost });
  });

  it("TokenHub 3D: model files counted, previews not", async () => {
    const { result } = await run(h.request("hy-3d-3.0"));
    expect(result.usage).toEqual({ source: "outputs", models: 2 });
    expect(result.cost).toEqual({ amount: "2.40", currency: "CNY" });
  });

  it("TokenHub text: the provider's prompt and completion tokens, priced per 1k exactly", async () => {
    const { result, hook } = await run(h.chatRequest("tokenhub", "hunyuan-2.0-instruct-20251111"));
    const raw = expectProviderTokens(result);
    // 0.0008 and 0.002 per 1k tokens are 800,000 and 2,000,000 pico-units per token
    const pico = BigInt(raw.prompt_tokens) * 800_000n + BigInt(raw.completion_tokens) * 2_000_000n;
    expect(result.cost).toEqual({ amount: decimal(pico), currency: "CNY" });
    expect(hook).toMatchObject({ usage: result.usage, cost: result.cost });
  });

  it("gateway images: the answer's usage.image_count", async () => {
    const { result, hook } = await run(h.chatRequest("gateway", "qwen-image-2.0", { n: 2 }));
    expect(result.usage).toEqual({ source: "provider", images: 2 });
    expect(result.cost).toEqual({ amount: "0.28", currency: "CNY" });
    expect(hook).toMatchObject({ usage: result.usage, cost: result.cost });
  });

  it("gateway video: the seconds the request asked for (the answer does not say), and no cost without them", async () => {
    const timed = await run(h.chatRequest("gateway", "wan2.7-t2v", { duration: 5 }));
    expect(timed.result.usage).toEqual({ source: "request", videos: 1, seconds: 5 });
    expect(timed.result.cost).toEqual({ amount: "2.50", currency: "CNY" });
    const untimed = await run(h.chatRequest("gateway", "wan2.7-t2v"));
    expect(untimed.result.usage).toEqual({ source: "outputs", videos: 1 });
    expect(untimed.result.cost).toBeUndefined();
  });

  it("gateway speech: the characters the answer reports", async () => {
    const { result, prompt, hook } = await run(h.chatRequest("gateway", "speech-2.8-hd"));
    expect(result.usage).toEqual({ source: "provider", characters: prompt.length });
    expect(result.cost).toEqual({ amount: decimal(BigInt(prompt.length) * 200_000_000n), currency: "CNY" });
    expect(hook).toMatchObject({ usage: result.usage, cost: result.cost });
  });

  it("wcode text: tokens from the answer; a model without a price has usage and no cost", async () => {
    const { result } = await run(h.chatRequest("wcode", "hunyuan-lite"));
    const raw = result.completion!.usage as { prompt_tokens: number; completion_tokens: number };
    expect(result.usage).toMatchObject({ source: "provider", promptTokens: raw.prompt_tokens, completionTokens: raw.completion_tokens });
    expect(result.cost?.amount).toBe(decimal(BigInt(raw.prompt_tokens) * 100_000n + BigInt(raw.completion_tokens) * 300_000n));
    const unpriced = await run(h.chatRequest("gateway", "image-01"));
    expect(unpriced.result.usage).toEqual({ source: "outputs", images: 1 });
    expect(unpriced.result.cost).toBeUndefined();
  });

  it.each([
    ["gateway", "qwen3.6-flash"],
    ["gateway", "MiniMax-M2.7"],
    ["wcode", "tencent/hunyuan-a13b-instruct"],
  ] as const)("%s %s text: the three token counts, whatever details the vendor adds", async (provider, model) => {
    const { result, hook } = await run(h.chatRequest(provider, model));
    expectProviderTokens(result);
    expect(result.cost).toBeUndefined();
    expect(hook).toMatchObject({ usage: result.usage });
  });

  it("counts usage and cost by provider and model in Prometheus", async () => {
    const before = await metrics.text();
    const { result } = await run(h.chatRequest("gateway", "qwen-image-2.0", { n: 3 }));
    expect(result.usage?.images).toBe(3);
    const text = await metrics.text();
    const labels = { provider: "gateway", model: "qwen-image-2.0" };
    const images = (t: string) => sample(t, "kiln_usage_total", { ...labels, unit: "images" }) ?? 0;
    const cost = (t: string) => sample(t, "kiln_cost_total", { ...labels, currency: "CNY" }) ?? 0;
    expect(images(text) - images(before)).toBe(3);
    expect(cost(text) - cost(before)).toBeCloseTo(0.42, 9);
    expect(sample(text, "kiln_usage_total", { provider: "tokenhub", model: "hy-3d-3.0", unit: "models" })).toBe(2);
  });
});

/** The result's usage is the provider's three token counts, as its answer gave them; returns the answer's usage. */
function expectProviderTokens(result: GenerationResult): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const raw = result.completion!.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  expect(result.usage).toEqual({
    source: "provider",
    promptTokens: raw.prompt_tokens,
    completionTokens: raw.completion_tokens,
    totalTokens: raw.total_tokens,
  });
  return raw;
}
