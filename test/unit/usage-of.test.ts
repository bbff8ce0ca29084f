import { describe, expect, it } from "vitest";
import { usageOf } from "../../src/billing/usage-of.js";
import { GATEWAY_PASSTHROUGH } from "../../src/providers/gateway/gateway-models.js";
import { findModel } from "../../src/providers/model-registry.js";

const model = (provider: string, id: string) => findModel(provider, id)!;
const url = (role?: string) => ({ url: "https://example.com/x", role });

describe("usageOf: only what is certain when the provider reports nothing", () => {
  it("the provider's figures win", () => {
    const reported = { source: "provider" as const, images: 4 };
    expect(usageOf(model("gateway", "qwen-image-2.0"), {}, reported, [url()])).toBe(reported);
  });

  it("counts images, videos without their cover, and model files without their previews", () => {
    expect(usageOf(model("tokenhub", "hy-image-v3.0"), {}, undefined, [url(), url()])).toEqual({ source: "outputs", images: 2 });
    expect(usageOf(model("gateway", "cogvideox-3"), {}, undefined, [url("video"), url("cover")])).toEqual({ source: "outputs", videos: 1 });
    expect(usageOf(model("tokenhub", "hy-3d-3.0"), {}, undefined, [url("model"), url("preview"), url("model"), url("preview")])).toEqual({
      source: "outputs",
      models: 2,
    });
  });

  it("takes a video's seconds from the request when it asked for a duration", () => {
    expect(usageOf(model("gateway", "wan2.7-t2v"), { duration: 10 }, undefined, [url()])).toEqual({
      source: "request",
      videos: 1,
      seconds: 10,
    });
    expect(usageOf(model("tokenhub", "hy-video-1.5"), {}, undefined, [url()])).toEqual({ source: "outputs", videos: 1 });
  });

  it("has nothing for text and speech without a reported usage, nor for a pass-through model", () => {
    expect(usageOf(model("wcode", "hunyuan-lite"), {}, undefined, [url("response"), url("answer")])).toBeUndefined();
    expect(usageOf(model("gateway", "speech-2.8-hd"), {}, undefined, [url()])).toBeUndefined();
    expect(usageOf(GATEWAY_PASSTHROUGH("new-model"), {}, undefined, [url()])).toBeUndefined();
  });
});
