import { describe, expect, it } from "vitest";
import { loadEnvironment } from "../../src/config/index.js";
import {
  checkSchedule,
  DEFAULT_WEBHOOK_SCHEDULE_MS,
  MAX_WEBHOOK_DELAY_MS,
  parseRetrySchedule,
  webhookRetryDelayMs,
} from "../../src/webhooks/retry-schedule.js";

const fixed = (value: number) => () => value;

describe("webhookRetryDelayMs", () => {
  it("follows Svix's schedule after the immediate first attempt", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => webhookRetryDelayMs(n, { random: fixed(0.5) }));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  it("jitters ±20% with the random source", () => {
    expect(webhookRetryDelayMs(1, { random: fixed(0) })).toBe(4_000);
    expect(webhookRetryDelayMs(1, { random: fixed(0.999999) })).toBe(6_000);
    expect(webhookRetryDelayMs(2, { random: fixed(0.25) })).toBe(270_000);
  });

  it("is -1 once the schedule is exhausted", () => {
    expect(webhookRetryDelayMs(DEFAULT_WEBHOOK_SCHEDULE_MS.length + 1)).toBe(-1);
    expect(webhookRetryDelayMs(4, { schedule: [100, 200, 400] })).toBe(-1);
  });

  it("never waits less than Retry-After, which is capped at a day", () => {
    expect(webhookRetryDelayMs(1, { random: fixed(0.5), retryAfterMs: 60_000 })).toBe(60_000);
    expect(webhookRetryDelayMs(1, { random: fixed(0.5), retryAfterMs: 1_000 })).toBe(5_000);
    expect(webhookRetryDelayMs(1, { random: fixed(0.5), retryAfterMs: 10 * MAX_WEBHOOK_DELAY_MS })).toBe(MAX_WEBHOOK_DELAY_MS);
  });
});

describe("parseRetrySchedule", () => {
  it("reads Svix's schedule written with units", () => {
    expect(parseRetrySchedule("5s,5m,30m,2h,5h,10h,10h")).toEqual(DEFAULT_WEBHOOK_SCHEDULE_MS);
    expect(parseRetrySchedule(" 250ms , 1.5s ,0s")).toEqual([250, 1500, 0]);
  });

  it("refuses entries without a unit, bad units, too long a delay and too many retries", () => {
    expect(() => parseRetrySchedule("5,10")).toThrow(/"5" is not a delay/);
    expect(() => parseRetrySchedule("5s,3d")).toThrow(/"3d" is not a delay/);
    expect(() => parseRetrySchedule("25h")).toThrow(/longer than 24h/);
    expect(() => parseRetrySchedule(Array(21).fill("1s").join(","))).toThrow(/at most 20 retries/);
  });

  it("checkSchedule names the option and the range", () => {
    expect(() => checkSchedule([5, -1], "schedule")).toThrow(/schedule: every delay must be 0 to 86400000 ms, got -1/);
    expect(checkSchedule([0, 5], "schedule")).toEqual([0, 5]);
  });
});

describe("webhook variables in the environment", () => {
  it("KILN_WEBHOOK_RETRY_SCHEDULE and KILN_WEBHOOK_TIMEOUT_MS parse to ms", () => {
    const env = loadEnvironment({ KILN_WEBHOOK_RETRY_SCHEDULE: "1s,1m", KILN_WEBHOOK_TIMEOUT_MS: "300" });
    expect(env.KILN_WEBHOOK_RETRY_SCHEDULE).toEqual([1000, 60_000]);
    expect(env.KILN_WEBHOOK_TIMEOUT_MS).toBe(300);
    expect(loadEnvironment({}).KILN_WEBHOOK_RETRY_SCHEDULE).toBeUndefined();
  });

  it("a malformed value stops start-up with an error naming the variable", () => {
    expect(() => loadEnvironment({ KILN_WEBHOOK_RETRY_SCHEDULE: "5s,soon" })).toThrow(
      /KILN_WEBHOOK_RETRY_SCHEDULE: "soon" is not a delay like 500ms, 5s, 5m or 2h \(expected e\.g\. 5s,5m/,
    );
    expect(() => loadEnvironment({ KILN_WEBHOOK_TIMEOUT_MS: "50" })).toThrow(/KILN_WEBHOOK_TIMEOUT_MS: expected 100 to 300000 ms/);
    expect(() => loadEnvironment({ KILN_WEBHOOK_TIMEOUT_MS: "fast" })).toThrow(/KILN_WEBHOOK_TIMEOUT_MS/);
  });
});
