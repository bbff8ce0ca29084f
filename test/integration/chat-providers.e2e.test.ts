import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { storedText } from "../support/archive-check.js";

describe("wcode and TokenHub text models end to end", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start());
  afterAll(() => h.close());

  async function complete(
    provider: "wcode" | "tokenhub",
    model: string,
    input: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ) {
    const status = await h.client.waitFor(await h.client.enqueue(h.chatRequest(provider, model, input, extra)), { timeoutMs: 20_000 });
    expect(status.state, status.failedReason).toBe("completed");
    return status.result!;
  }

  it.each(["hunyuan-standard", "hunyuan-turbos-latest", "hunyuan-lite"])("wcode %s: OpenAI chat completion archived", async (model) => {
    const result = await complete("wcode", model, { temperature: 0.5 });
    expect(result.completion?.content).toContain(`[${model}]`);
    expect(result.completion?.reasoningContent).toBeUndefined();
  });

  it("wcode hunyuan-turbos-vision-20250619 takes an image as an OpenAI content part", async () => {
    const messages = [
      {
        role: "user",
        content: [
          { type: "text", text: "这是什么?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
        ],
      },
    ];
    const result = await complete("wcode", "hunyuan-turbos-vision-20250619", { messages });
    expect(result.completion?.content).toContain("image_url");
  });

  it("wcode tencent/hunyuan-a13b-instruct: `reasoning` kept, `<answer>` tags dropped from the answer text", async () => {
    const result = await complete("wcode", "tencent/hunyuan-a13b-instruct");
    expect(result.completion?.content).toMatch(/^<answer>\n[\s\S]+\n<\/answer>$/);
    expect(result.completion?.reasoningContent).toBeTruthy();
    const answer = await storedText(h.workers!.store, result.outputs[1]!.key);
    expect(answer).toBe(result.completion!.content!.replace(/^<answer>\n|\n<\/answer>$/g, ""));
  });

  it.each(["deepseek-v3.2", "hunyuan-2.0-thinking-20251109", "glm-5", "kimi-k2.5", "minimax-m2.7", "deepseek-r1-0528"])(
    "TokenHub %s via /v1/chat/completions",
    async (model) => {
      const result = await complete("tokenhub", model);
      expect(result.completion?.content).toContain(`[${model}]`);
      expect(result.completion?.usage).toMatchObject({ prompt_tokens_details: { cached_token: 0 } });
    },
  );

  it("an unknown model fails in the worker with the client's message; pass-through sends it as given", async () => {
    await expect(h.client.enqueue(h.chatRequest("wcode", "hunyuan-t1-latest"))).rejects.toThrow(
      /model: unknown wcode model "hunyuan-t1-latest"; known: hunyuan-standard, .* \(or set "passthrough": true/,
    );
    const raw = new Queue("generate-wcode", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      const job = await raw.add("generate", h.chatRequest("wcode", "hunyuan-t1-latest"));
      const failed = await h.client.waitFor(job.id!, { timeoutMs: 10_000, provider: "wcode" });
      expect(failed.state, JSON.stringify(failed)).toBe("failed");
      expect(failed.failedReason).toMatch(/model: unknown wcode model "hunyuan-t1-latest"; known: hunyuan-standard/);
    } finally {
      await raw.close();
    }
    const result = await complete("wcode", "hunyuan-t1-latest", {}, { passthrough: true });
    expect(result.completion?.content).toContain("[hunyuan-t1-latest]");
  });

  it("a wcode model the provider does not serve fails with the provider's message", async () => {
    const status = await h.client.waitFor(await h.client.enqueue(h.chatRequest("wcode", "missing-model", {}, { passthrough: true })), {
      timeoutMs: 20_000,
    });
    expect(status.result?.error).toMatchObject({ code: "invalid_request", message: "model missing-model is not available" });
  });
});
