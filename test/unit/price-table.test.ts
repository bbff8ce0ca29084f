import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/billing/price-table.js";
import { costOf } from "../../src/billing/cost-of.js";
import { estimateCost } from "../../src/billing/cost-estimate.js";
import { formatDecimal, parseDecimal } from "../../src/billing/decimal-amount.js";
import { UsageTotals } from "../../src/billing/usage-totals.js";
import { pricesOf } from "../../src/config/index.js";
import { findModel } from "../../src/providers/model-registry.js";

const parse = (text: string) => PriceTable.parse(text);
const problems = (text: string) => {
  try {
    parse(text);
  } catch (err) {
    return (err as Error).message.split("\n");
  }
  throw new Error("the table was accepted");
};

describe("PriceTable validation", () => {
  it("names the entry of each bad price", () => {
    expect(
      problems(`
currency: CNY
prices:
  tokenhub:
    hy-image-v3.0: { per_image: -0.2 }
    hy-video-1.5: { per_video: "1.5.0" }
    hunyuan-lite-x: { per_request: 1 }
  gateway:
    wan2.7-t2v: { per_image: 1 }
    qwen-image-2.0: { per_imag: 1 }
    image-01: {}
  nobody:
    m: { per_request: 1 }
`),
    ).toEqual([
      "KILN_PRICES: tokenhub.hy-image-v3.0.per_image: expected a non-negative number with at most 9 decimals",
      "KILN_PRICES: tokenhub.hy-video-1.5.per_video: expected a non-negative number with at most 9 decimals",
      'KILN_PRICES: gateway.qwen-image-2.0: Unrecognized key: "per_imag"',
      expect.stringMatching(/^KILN_PRICES: gateway\.qwen-image-2\.0: expected at least one of per_request, per_image/),
      expect.stringMatching(/^KILN_PRICES: gateway\.image-01: expected at least one of per_request, per_image/),
    ]);
  });

  it("refuses unknown providers and models, and units that do not fit the model's kind", () => {
    expect(
      problems(`{"currency": "USD", "prices": {"nobody": {"m": {"per_request": 1}}, "tokenhub": {"hy-image-9": {"per_image": 1}},
        "gateway": {"wan2.7-t2v": {"per_image": 1}}}}`),
    ).toEqual([
      "KILN_PRICES: nobody: unknown provider; known: tokenhub, gateway, wcode",
      "KILN_PRICES: tokenhub.hy-image-9: unknown tokenhub model (prices name models of kiln's registry)",
      "KILN_PRICES: gateway.wan2.7-t2v.per_image: not a unit of a video model; use per_request, per_video, per_second",
    ]);
  });

  it("refuses a missing currency, and a file that is neither JSON nor YAML", () => {
    expect(problems(`prices: {}`)).toEqual([expect.stringMatching(/^KILN_PRICES: currency: /)]);
    expect(problems(`currency: cny\nprices: {}`)).toEqual([
      "KILN_PRICES: currency: expected a three-letter currency code such as CNY or USD",
    ]);
    expect(problems(`{"currency": "CNY", "prices": {`)[0]).toMatch(/^KILN_PRICES: not valid JSON or YAML: /);
  });

  it("stops start-up with a config error naming the variable and the entry", () => {
    expect(() => pricesOf({ KILN_PRICES: "/nonexistent/prices.yaml" })).toThrow(/invalid environment:\n {2}KILN_PRICES: cannot read/);
  });

  it("reads JSON and YAML alike, models in either spelling", () => {
    const yaml = parse(`currency: CNY\nprices:\n  tokenhub:\n    HY-Image-V3.0:\n      per_image: 0.2\n`);
    const json = parse(`{"currency": "CNY", "prices": {"tokenhub": {"hy-image-v3.0": {"per_image": "0.2"}}}}`);
    expect(yaml.priceOf("tokenhub", "hy-image-v3.0")).toEqual({ per_image: parseDecimal("0.2") });
    expect(json.priceOf("tokenhub", "hy-image-v3.0")).toEqual(yaml.priceOf("tokenhub", "hy-image-v3.0"));
    expect(json.priceOf("tokenhub", "hy-image-lite")).toBeUndefined();
  });
});

describe("costs in exact decimals", () => {
  it("multiplies per unit without float drift", () => {
    // 0.1 + 0.2 is 0.30000000000000004 in floats
    expect(
      formatDecimal(costOf({ per_image: parseDecimal("0.1")!, per_request: parseDecimal("0.2")! }, { source: "outputs", images: 1 })!),
    ).toBe("0.30");
    const tokens = { per_1k_prompt_tokens: parseDecimal("0.0008")!, per_1k_completion_tokens: parseDecimal("0.002")! };
    // 254 × 0.0008 / 1000 + 1001 × 0.002 / 1000 = 0.0002032 + 0.002002
    expect(formatDecimal(costOf(tokens, { source: "provider", promptTokens: 254, completionTokens: 1001 })!)).toBe("0.0022052");
    expect(formatDecimal(costOf({ per_second: parseDecimal("0.35")! }, { source: "request", videos: 1, seconds: 5 })!)).toBe("1.75");
  });

  it("has no cost when a priced figure is unknown", () => {
    expect(costOf({ per_second: parseDecimal("0.35")! }, { source: "outputs", videos: 1 })).toBeUndefined();
  });

  it("totals ten thousand small costs to the exact sum", () => {
    const totals = new UsageTotals();
    for (let i = 0; i < 10_000; i++) totals.add({ source: "outputs", images: 1, seconds: 0.1 }, { amount: "0.01", currency: "CNY" });
    totals.add({ source: "outputs", images: 2 }, undefined);
    expect(totals.total()).toEqual({ usage: { images: 10_002, seconds: 1000 }, cost: { amount: "100.00", currency: "CNY" }, uncosted: 1 });
  });
});

describe("cost estimates before submit", () => {
  const model = (provider: string, id: string) => findModel(provider, id)!;

  it("counts the images asked for, a video's requested seconds, and text up to max_tokens", () => {
    const image = estimateCost(model("gateway", "qwen-image-2.0"), { n: 3 }, { per_image: parseDecimal("0.2")! });
    expect(image.ok && formatDecimal(image.amount)).toBe("0.60");
    const video = estimateCost(model("gateway", "wan2.7-t2v"), { duration: 5 }, { per_second: parseDecimal("0.5")! });
    expect(video.ok && formatDecimal(video.amount)).toBe("2.50");
    const text = estimateCost(
      model("wcode", "hunyuan-lite"),
      { messages: [{ role: "user", content: "héllo" }], max_tokens: 1000 },
      { per_1k_prompt_tokens: parseDecimal("1")!, per_1k_completion_tokens: parseDecimal("2")! },
    );
    // "héllo" is 6 UTF-8 bytes: at most 6 prompt tokens
    expect(text.ok && formatDecimal(text.amount)).toBe("2.006");
  });

  it("says what is missing when the request does not bound a priced figure", () => {
    const video = estimateCost(model("gateway", "wan2.7-t2v"), {}, { per_second: parseDecimal("0.5")! });
    expect(video).toEqual({ ok: false, reason: expect.stringContaining("per_second needs a video's input.duration") });
    const text = estimateCost(model("wcode", "hunyuan-lite"), { messages: [] }, { per_1k_completion_tokens: parseDecimal("2")! });
    expect(text).toEqual({ ok: false, reason: expect.stringContaining("input.max_tokens or input.max_completion_tokens") });
  });
});
