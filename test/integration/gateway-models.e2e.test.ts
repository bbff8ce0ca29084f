import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { expectArchivedAsServed, storedText } from "../support/archive-check.js";

const IMG = "https://example.com/input.png";

describe("gateway (seed 004) models end to end", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start());
  afterAll(() => h.close());

  const enqueue = (model: string, input: Record<string, unknown> = {}) => h.client.enqueue(h.chatRequest("gateway", model, input));

  it.each(["qwen-image-2.0", "qwen-image-2.0-pro", "wan2.7-image-pro"])(
    "%s: synchronous output.choices[].message.content[].image, n images",
    async (model) => {
      const { result } = await expectArchivedAsServed(h, await enqueue(model, { images: [IMG], size: "1664*928", n: 2 }));
      expect(result.outputs.map((o) => o.contentType)).toEqual(["image/png", "image/png"]);
    },
  );

  it("image-01: data.image_url[] by default", async () => {
    await expectArchivedAsServed(h, await enqueue("image-01", { size: "1024x1024" }));
  });

  it("image-01: data.image_base64[] decoded to the same bytes with response_format base64", async () => {
    const { result } = await expectArchivedAsServed(h, await enqueue("image-01", { response_format: "base64" }));
    expect(result.outputs[0]).toMatchObject({ contentType: "image/png" });
    expect(result.outputs[0]!.sourceUrl).toBeUndefined();
  });

  it("glm-image: synchronous data[].url, and with async:true a task polled at /v1/images/generations/{id}", async () => {
    await expectArchivedAsServed(h, await enqueue("glm-image", { size: "1024x1024" }));
    const queries = h.simulator.stats().queries;
    const { result } = await expectArchivedAsServed(h, await enqueue("glm-image", { async: true }));
    expect(result.providerTaskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.simulator.stats().queries).toBeGreaterThan(queries);
  });

  it.each([
    [
      "wan2.7-i2v",
      {
        images: [IMG],
        voices: ["https://example.com/rap.mp3"],
        media_roles: { images: ["first_frame"], voices: ["driving_audio"] },
        duration: 10,
        resolution: "720P",
      },
    ],
    ["wan2.7-r2v", { images: [IMG], videos: ["https://example.com/motion.mp4"], duration: 5 }],
    ["wan2.7-t2v", { voices: ["https://example.com/music.mp3"], duration: 5, resolution: "720P" }],
  ])("%s: task id from the top level, polled to SUCCEEDED, output.video_url archived", async (model, input) => {
    const { result } = await expectArchivedAsServed(h, await enqueue(model, input));
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]!.contentType).toBe("video/mp4");
  });

  it.each(["MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast"])("%s: task_id only, MiniMax status words, file.download_url", async (model) => {
    const { result } = await expectArchivedAsServed(h, await enqueue(model, { images: [IMG, IMG], duration: 6, resolution: "1080P" }));
    expect(result.providerTaskId).toMatch(/^minimax-/);
  });

  it("cogvideox-3: id and task_id, video_result[] video and cover image", async () => {
    const { result } = await expectArchivedAsServed(h, await enqueue("cogvideox-3", { images: [IMG], fps: 24 }));
    expect(result.outputs.map((o) => [o.role, o.contentType])).toEqual([
      ["video", "video/mp4"],
      ["cover", "image/png"],
    ]);
  });

  it("qwen3-tts-flash: output.audio.url archived as wav", async () => {
    const { result } = await expectArchivedAsServed(h, await enqueue("qwen3-tts-flash", { voice: "Cherry", language_type: "Chinese" }));
    expect(result.outputs[0]).toMatchObject({ contentType: "audio/wav" });
  });

  it("speech-2.8-hd: hex audio in data.audio decoded to the simulator's mp3 bytes", async () => {
    const { result } = await expectArchivedAsServed(h, await enqueue("speech-2.8-hd", { voice_id: "Boyan_new_hd" }));
    expect(result.outputs[0]).toMatchObject({ contentType: "audio/mpeg" });
    expect(result.outputs[0]!.key).toMatch(/\/0\.mp3$/);
  });

  it.each([
    ["qwen3.6-plus", { enable_thinking: true }, true],
    ["qwen3.6-flash", {}, false],
    ["qwen3-max", {}, false],
    ["qwen3-coder-next", {}, false],
    ["qwen3-coder-plus", {}, false],
    ["MiniMax-M2.7", { max_completion_tokens: 256 }, true],
    ["MiniMax-M2.7-highspeed", {}, true],
    ["glm-5.1", { enable_thinking: true }, true],
    ["glm-5v-turbo", { images: [IMG] }, false],
    ["kimi-k2.6", { images: [IMG], file_urls: ["https://example.com/report.pdf"], enable_thinking: true }, true],
    ["deepseek-v4-pro", { enable_thinking: true }, true],
    ["deepseek-v4-flash", { enable_thinking: false }, false],
  ] as const)("%s: chat answer archived as JSON and text, reasoning and usage kept", async (model, input, reasons) => {
    const status = await h.client.waitFor(await enqueue(model, input), { timeoutMs: 20_000 });
    expect(status.state, status.failedReason).toBe("completed");
    const { completion, outputs } = status.result!;
    expect(completion?.content).toContain(`[${model}] simulated answer to: ${String(status.result!.metadata!.prompt)}`);
    expect(completion?.usage).toMatchObject({ total_tokens: expect.any(Number) });
    expect(Boolean(completion?.reasoningContent)).toBe(reasons);
    expect(outputs.map((o) => [o.role, o.contentType])).toEqual([
      ["response", "application/json"],
      ["answer", "text/plain; charset=utf-8"],
    ]);
    expect(await storedText(h.workers!.store, outputs[1]!.key)).toBe(completion!.content);
    expect(JSON.parse(await storedText(h.workers!.store, outputs[0]!.key)).choices[0].message.content).toBe(completion!.content);
  });

  it("refuses, naming the field, what the document says a model does not take", async () => {
    await expect(enqueue("glm-5.1", { images: [IMG] })).rejects.toThrow(/input\.images: not supported by this text model/);
    await expect(enqueue("MiniMax-M2.7", { enable_thinking: true })).rejects.toThrow(
      /input\.enable_thinking: MiniMax-M2\.7 does not support enable_thinking/,
    );
    await expect(enqueue("glm-image", { images: [IMG] })).rejects.toThrow(/input\.images: glm-image does not take reference images/);
    await expect(enqueue("MiniMax-Hailuo-2.3", { duration: 7 })).rejects.toThrow(/input\.duration: 5 or 6 seconds/);
    await expect(enqueue("wan2.7-i2v", {})).rejects.toThrow(/input\.images: one of images, videos is required/);
    await expect(enqueue("qwen-image-2.0", { size: "1024x1024" })).rejects.toThrow(/input\.size: format W\*H/);
    await expect(
      h.client.enqueue({ provider: "gateway", model: "qwen3-max", input: { messages: [{ role: "user", content: "x" }], stream: true } }),
    ).rejects.toThrow(/input\.stream: streaming is not supported/);
  });
});
