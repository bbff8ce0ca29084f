import { describe, expect, it } from "vitest";
import { Duration, loadEnvironment } from "../../src/config/index.js";
import { describeValue } from "../../src/util/describe-value.js";
import { limiterFor, rateWindowFor } from "../../src/rate-limits/queue-limiter.js";
import { taskIdIn } from "../../src/visit/steps/submit-step.js";

describe("limiterFor", () => {
  it("keeps the configured rate, below 1/s too, instead of rounding it up to 1/s", () => {
    expect(limiterFor(0.5)).toEqual({ max: 1, duration: 2000 });
    expect(limiterFor(0.1)).toEqual({ max: 1, duration: 10_000 });
    expect(limiterFor(2.5)).toEqual({ max: 3, duration: 1200 });
    expect(limiterFor(20)).toEqual({ max: 20, duration: 1000 });
  });

  it("keeps kiln's own window 5% longer than the rate's, so requests that arrive unevenly stay under the provider's limit", () => {
    expect(rateWindowFor(20)).toEqual({ max: 20, windowMs: 1050 });
    expect(rateWindowFor(0.5)).toEqual({ max: 1, windowMs: 2100 });
  });
});

describe("taskIdIn", () => {
  it("reads a task id out of a truncated answer, or nothing", () => {
    expect(taskIdIn('answered 200 with a body that is not JSON: {"id":"1460135033","request_id":"ab","obj')).toBe("1460135033");
    expect(taskIdIn('{"output": {"task_id": "t-9"')).toBe("t-9");
    expect(taskIdIn("<html>proxy error</html>")).toBeUndefined();
  });
});

describe("describeValue", () => {
  it("never throws, whatever the value", () => {
    const hostile = { toString: 1, valueOf: 2 };
    expect(describeValue(hostile)).toBe("an object");
    expect(describeValue(Object.create(null))).toBe("an object");
    expect(describeValue(null)).toBe("null");
    expect(describeValue("x".repeat(500))).toHaveLength(103);
    expect(describeValue(Symbol("s"))).toBe("a symbol");
  });
});

describe("durations and the new settings", () => {
  it("reads 500ms, 20s, 15m, 2h and bare seconds", () => {
    expect(["500ms", "20s", "15m", "2h", "3"].map((v) => Duration.parse(v))).toEqual([500, 20_000, 900_000, 7_200_000, 3000]);
    expect(Duration.safeParse("soon").success).toBe(false);
  });

  it("defaults: 20 s shutdown bound, retry on unknown submits; bad values name the variable", () => {
    const env = loadEnvironment({});
    expect(env.KILN_SHUTDOWN_TIMEOUT).toBe(20_000);
    expect(env.KILN_TOKENHUB_ON_UNKNOWN_SUBMIT).toBe("retry");
    expect(env.KILN_LOCK_DURATION).toBeUndefined();
    expect(loadEnvironment({ KILN_LOCK_DURATION: "30s", KILN_STALLED_INTERVAL: "2s" })).toMatchObject({
      KILN_LOCK_DURATION: 30_000,
      KILN_STALLED_INTERVAL: 2000,
    });
    expect(() => loadEnvironment({ KILN_LOCK_DURATION: "10ms" })).toThrow(/KILN_LOCK_DURATION: expected at least 1s/);
    expect(() => loadEnvironment({ KILN_GATEWAY_ON_UNKNOWN_SUBMIT: "maybe" })).toThrow(/KILN_GATEWAY_ON_UNKNOWN_SUBMIT/);
  });
});
