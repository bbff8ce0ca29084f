import { describe, it, expect } from "vitest";
import { POLL_POLICIES, type PollPolicy } from "../../src/providers/poll-policy.js";
import { pollDelayMs, retryDelayMs } from "../../src/polling/poll-delay.js";

const policy: PollPolicy = { firstDelayMs: 2000, factor: 1.5, capMs: 15_000, jitter: 0.2, deadlineMs: 0 };
const mid = () => 0.5; // 2r - 1 = 0: no jitter
const low = () => 0; // -jitter
const high = () => 0.999999; // ≈ +jitter

describe("pollDelayMs", () => {
  it("starts at firstDelayMs and grows by factor per visit", () => {
    expect([0, 1, 2, 3, 4].map((v) => pollDelayMs(v, policy, { random: mid }))).toEqual([2000, 3000, 4500, 6750, 10125]);
  });

  it("treats a negative visit as the first", () => {
    expect(pollDelayMs(-3, policy, { random: mid })).toBe(2000);
  });

  it("never exceeds capMs (before jitter)", () => {
    expect(pollDelayMs(5, policy, { random: mid })).toBe(15_000); // 15187.5 uncapped
    expect(pollDelayMs(40, policy, { random: mid })).toBe(15_000);
  });

  it("applies ±jitter around the base delay", () => {
    expect(pollDelayMs(0, policy, { random: low })).toBe(1600);
    expect(pollDelayMs(0, policy, { random: high })).toBe(2400);
    expect(pollDelayMs(40, policy, { random: low })).toBe(12_000);
    expect(pollDelayMs(40, policy, { random: high })).toBe(18_000);
  });

  it("stays within the jitter bounds for any random value", () => {
    for (let r = 0; r < 1; r += 0.05) {
      const d = pollDelayMs(2, policy, { random: () => r });
      expect(d).toBeGreaterThanOrEqual(4500 * 0.8);
      expect(d).toBeLessThanOrEqual(4500 * 1.2);
    }
  });

  it("multiplies the delay by scale", () => {
    expect(pollDelayMs(0, policy, { random: mid, scale: 0.1 })).toBe(200);
    expect(pollDelayMs(40, policy, { random: mid, scale: 0.01 })).toBe(150);
    expect(pollDelayMs(1, policy, { random: low, scale: 2 })).toBe(4800);
  });

  it("uses retryAfterMs as a floor, unscaled", () => {
    expect(pollDelayMs(0, policy, { random: mid, retryAfterMs: 7000 })).toBe(7000);
    expect(pollDelayMs(0, policy, { random: mid, retryAfterMs: 7000, scale: 0.1 })).toBe(7000);
    expect(pollDelayMs(0, policy, { random: mid, retryAfterMs: 500 })).toBe(2000);
  });
});

describe("retryDelayMs", () => {
  it("starts at 1 s, doubles, caps at 30 s", () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => retryDelayMs(a, { random: mid }))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it("has ±20% jitter, scale and a Retry-After floor", () => {
    expect(retryDelayMs(0, { random: low })).toBe(800);
    expect(retryDelayMs(0, { random: high })).toBe(1200);
    expect(retryDelayMs(2, { random: mid, scale: 0.5 })).toBe(2000);
    expect(retryDelayMs(0, { random: mid, retryAfterMs: 9000, scale: 0.1 })).toBe(9000);
  });
});

describe("POLL_POLICIES", () => {
  it("polls images early and often", () => {
    expect(POLL_POLICIES.image).toEqual({ firstDelayMs: 2000, factor: 1.5, capMs: 15_000, jitter: 0.2, deadlineMs: 15 * 60_000 });
  });

  it("waits longer before the first video poll, with a higher cap and deadline", () => {
    expect(POLL_POLICIES.video).toEqual({ firstDelayMs: 10_000, factor: 1.5, capMs: 60_000, jitter: 0.2, deadlineMs: 2 * 3_600_000 });
    expect(POLL_POLICIES.video.firstDelayMs).toBeGreaterThan(POLL_POLICIES.image.firstDelayMs);
    expect(pollDelayMs(0, POLL_POLICIES.video, { random: mid })).toBe(10_000);
    expect(pollDelayMs(0, POLL_POLICIES.image, { random: mid })).toBe(2000);
  });

  it("polls 3D models like videos", () => {
    expect(POLL_POLICIES["3d"]).toEqual(POLL_POLICIES.video);
  });
});
