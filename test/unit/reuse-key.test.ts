import { describe, expect, it } from "vitest";
import { resolveModel } from "../../src/providers/model-registry.js";
import { reuseKey } from "../../src/reuse/reuse-key.js";
import { reuseProblem } from "../../src/providers/request-checks.js";

const a13b = resolveModel("wcode", "tencent/hunyuan-a13b-instruct")!;
const image = resolveModel("tokenhub", "hy-image-v3.0")!;
const request = { provider: "wcode" };
const messages = [{ role: "user", content: "hello  world" }];

describe("reuseKey", () => {
  it("is the same whatever the key order and the JSON's whitespace, at every depth", () => {
    const compact = JSON.parse('{"messages":[{"role":"user","content":"hello  world"}],"seed":1}');
    const spaced = JSON.parse('{ "seed" : 1,\n  "messages" : [ { "content" : "hello  world", "role" : "user" } ] }');
    expect(reuseKey(request, a13b, spaced)).toBe(reuseKey(request, a13b, compact));
  });

  it("drops a top-level field spelling out the model's documented default, and only then", () => {
    const plain = reuseKey(request, a13b, { messages, seed: 1 });
    expect(reuseKey(request, a13b, { messages, seed: 1, temperature: 1, top_p: 1.0, stream: false })).toBe(plain);
    expect(reuseKey(request, a13b, { messages, seed: 1, temperature: 0.5 })).not.toBe(plain);
    expect(reuseKey(request, a13b, { messages, seed: 1, stream: true })).not.toBe(plain);
  });

  it("holds everything that changes the output: the text inside strings, the seed, the model, the provider and the tenant", () => {
    const plain = reuseKey(request, a13b, { messages, seed: 1 });
    const others = [
      reuseKey(request, a13b, { messages: [{ role: "user", content: "hello world" }], seed: 1 }),
      reuseKey(request, a13b, { messages, seed: 2 }),
      reuseKey(request, resolveModel("wcode", "hunyuan-lite")!, { messages, seed: 1 }),
      reuseKey({ provider: "wcode", tenant: "studio" }, a13b, { messages, seed: 1 }),
      reuseKey({ provider: "tokenhub" }, image, { messages, seed: 1 }),
    ];
    expect(new Set([plain, ...others]).size).toBe(others.length + 1);
    // the default tenant is the default tenant, named or not
    expect(reuseKey({ provider: "wcode", tenant: "default" }, a13b, { messages, seed: 1 })).toBe(plain);
  });
});

describe("reuseProblem", () => {
  it("refuses an unseeded request, naming the field and the way out; a seed or unseeded: true lets it through", () => {
    expect(reuseProblem({ reuse: { ttl: 60 } }, image, { prompt: "x" })).toMatch(
      /^reuse: input has no seed, so hy-image-v3\.0 samples anew.*reuse\.unseeded: true/,
    );
    expect(reuseProblem({ reuse: { ttl: 60 } }, image, { prompt: "x", seed: 0 })).toBeUndefined();
    expect(reuseProblem({ reuse: { ttl: 60, unseeded: true } }, image, { prompt: "x" })).toBeUndefined();
    expect(reuseProblem({}, image, { prompt: "x" })).toBeUndefined();
  });
});
