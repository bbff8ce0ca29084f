import { describe, expect, it } from "vitest";
import {
  ADAPTIVE_BOUNDS,
  adaptivePoll,
  durationBelief,
  progressBelief,
  type PollScheduleInput,
  type ProgressSample,
} from "../../src/polling/poll-schedule.js";
import { normal } from "../../src/util/normal-distribution.js";

const video = ADAPTIVE_BOUNDS.video;
const none = () => 0; // no jitter
const MIN = 60_000;

function delay(input: Partial<PollScheduleInput>): number {
  return adaptivePoll({ elapsedMs: 0, size: 1, progress: [], bounds: video, random: none, ...input }).delayMs;
}

/** Stats as if every task of the model took `medianMs` within a spread `sigma`. */
const learned = (medianMs: number, sigma: number, n = 50) => ({ n, mean: Math.log(medianMs), variance: sigma ** 2 });

/** Polls a task of `durationMs` that reports linear progress, as the simulator does; returns the polls and the detection delay. */
function run(durationMs: number, base: Partial<PollScheduleInput>, withProgress = true) {
  let t = 0;
  let polls = 0;
  const progress: ProgressSample[] = [];
  for (;;) {
    t += delay({ ...base, elapsedMs: t, progress: [...progress] });
    polls++;
    if (t >= durationMs) return { polls, delayMs: t - durationMs };
    if (withProgress) progress.push({ atMs: t, progress: Math.floor((100 * t) / durationMs) });
  }
}

describe("normal", () => {
  it("has the CDF and quantile of the standard normal", () => {
    expect(normal.cdf(0)).toBeCloseTo(0.5, 7);
    expect(normal.cdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normal.cdf(-1)).toBeCloseTo(0.158655, 6);
    expect(normal.quantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normal.quantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(normal.quantile(0.5)).toBeCloseTo(0, 9);
  });
});

describe("durationBelief", () => {
  it("starts from the kind's prior, scaled by the request's size and KILN_POLL_SCALE", () => {
    expect(Math.exp(durationBelief({ size: 1, progress: [], bounds: video }).mu)).toBeCloseTo(60_000, 0);
    expect(Math.exp(durationBelief({ size: 2, progress: [], bounds: video }).mu)).toBeCloseTo(120_000, 0);
    expect(Math.exp(durationBelief({ size: 1, progress: [], bounds: video, scale: 0.1 }).mu)).toBeCloseTo(6_000, 0);
  });

  it("follows the learned statistics once there are some, shrunk toward the prior while they are few", () => {
    const many = durationBelief({ size: 1, progress: [], bounds: video, stats: learned(30_000, 0.2, 100_000) });
    expect(Math.exp(many.mu)).toBeCloseTo(30_000, -2);
    expect(many.sigma).toBeCloseTo(0.2, 1);
    const one = durationBelief({ size: 1, progress: [], bounds: video, stats: learned(30_000, 0, 1) });
    expect(Math.exp(one.mu)).toBeGreaterThan(30_000);
    expect(Math.exp(one.mu)).toBeLessThan(60_000);
    // learned per unit of size: a request twice as long is expected to take twice as long
    expect(Math.exp(durationBelief({ size: 2, progress: [], bounds: video, stats: learned(30_000, 0.2, 100_000) }).mu)).toBeCloseTo(
      60_000,
      -2,
    );
  });

  it("narrows around the finish the progress points to", () => {
    const belief = durationBelief({ size: 1, progress: [{ atMs: 100_000, progress: 50 }], bounds: video });
    expect(Math.exp(belief.mu)).toBeGreaterThan(180_000);
    expect(Math.exp(belief.mu)).toBeLessThan(200_000);
    expect(belief.sigma).toBeLessThan(0.2);
  });
});

describe("progressBelief", () => {
  it("extrapolates from 0% at the submit when there is one report", () => {
    expect(Math.exp(progressBelief([{ atMs: 30_000, progress: 25 }])!.mu)).toBeCloseTo(120_000, -1);
  });

  it("uses the rate between reports, so time spent queued before progress started does not count", () => {
    // 10% at 60 s, 30% at 80 s: 1%/s, 70% left -> 150 s, not 267 s from the submit
    expect(
      Math.exp(
        progressBelief([
          { atMs: 60_000, progress: 10 },
          { atMs: 80_000, progress: 30 },
        ])!.mu,
      ),
    ).toBeCloseTo(150_000, -1);
  });

  it("knows nothing from 0%, 100% or progress that has not moved", () => {
    expect(progressBelief([])).toBeUndefined();
    expect(progressBelief([{ atMs: 5_000, progress: 0 }])).toBeUndefined();
    expect(progressBelief([{ atMs: 5_000, progress: 100 }])).toBeUndefined();
  });

  it("trusts progress that moves at a steady rate more than one report; not progress that sped up", () => {
    const one = progressBelief([{ atMs: 60_000, progress: 20 }])!;
    // 10% at 30 s, 20% at 60 s: the same finish from the submit and from the earlier report
    const steady = progressBelief([
      { atMs: 30_000, progress: 10 },
      { atMs: 60_000, progress: 20 },
    ])!;
    expect(Math.exp(steady.mu)).toBeCloseTo(300_000, -3);
    expect(steady.sigma).toBeLessThan(one.sigma / 2);
    // queued at 1% for 30 s, then fast: the two finishes disagree, the spread stays a single report's
    const sped = progressBelief([
      { atMs: 30_000, progress: 1 },
      { atMs: 60_000, progress: 20 },
    ])!;
    expect(sped.sigma).toBeCloseTo(one.sigma, 6);
  });

  it("is sure of itself near 100% and unsure near 0%", () => {
    expect(progressBelief([{ atMs: 95_000, progress: 95 }])!.sigma).toBeLessThan(progressBelief([{ atMs: 5_000, progress: 5 }])!.sigma / 5);
  });
});

describe("adaptivePoll", () => {
  it("polls sparsely long before the expected finish and densely near it", () => {
    const stats = learned(5 * MIN, 0.1);
    const early = delay({ elapsedMs: 10_000, stats });
    const near = delay({ elapsedMs: 4.9 * MIN, stats });
    expect(early).toBeGreaterThan(60_000 - 1); // the cap: nothing to see for minutes
    expect(near).toBeLessThanOrEqual(0.09 * 4.9 * MIN + 1);
    expect(near).toBeGreaterThanOrEqual(video.floorMs);
  });

  it("first polls at the early quantile of the learned durations", () => {
    const first = delay({ elapsedMs: 0, stats: learned(20_000, 0.3, 100_000) });
    expect(first).toBeCloseTo(20_000 * Math.exp(0.3 * normal.quantile(0.03)), -2);
  });

  it("keeps polls within the floor and the cap, scaled, and never faster than the provider's rate", () => {
    expect(delay({ elapsedMs: 10_000, stats: learned(10_100, 0.01) })).toBe(video.floorMs);
    expect(delay({ elapsedMs: 10_000, stats: learned(10 * 60_000, 0.1) })).toBe(video.capMs);
    expect(delay({ elapsedMs: 10_000, stats: learned(10 * 60_000, 0.1), scale: 0.1 })).toBe(video.capMs * 0.1);
    expect(delay({ elapsedMs: 10_000, stats: learned(10_100, 0.01), minIntervalMs: 4_000 })).toBe(4_000);
  });

  it("keeps polling densely after the expected finish has passed", () => {
    const late = delay({ elapsedMs: 10 * MIN, stats: learned(2 * MIN, 0.1) });
    expect(late).toBeLessThanOrEqual(0.09 * 10 * MIN + 1);
    expect(late).toBeGreaterThan(0.08 * 10 * MIN);
  });

  it("polls closer to the goal without progress (a long dense phase) than with it, closer still as the progress narrows the belief", () => {
    const stats = learned(2 * MIN, 0.1);
    expect(delay({ elapsedMs: 10 * MIN, stats })).toBe(Math.round(0.09 * 10 * MIN));
    // one report at 50%: a wide belief, the step is 6% of the elapsed time
    expect(delay({ elapsedMs: 10 * MIN, stats, progress: [{ atMs: 2 * MIN, progress: 50 }] })).toBe(Math.round(0.06 * 10 * MIN));
    // at 99%: the belief is narrow, and so is the step, down to 3%
    expect(delay({ elapsedMs: 10 * MIN, stats, progress: [{ atMs: 9 * MIN, progress: 99 }] })).toBe(Math.round(0.03 * 10 * MIN));
  });

  it("with progress reported, looks in four times less often than the cap: the progress shows a task outliving its estimate", () => {
    const stats = learned(10 * MIN, 0.1);
    expect(delay({ elapsedMs: 10_000, stats })).toBe(video.capMs);
    expect(delay({ elapsedMs: 10_000, stats, progress: [{ atMs: 10_000, progress: 2 }] })).toBe(4 * video.capMs);
  });

  it("behind a rate with room to spare, steps down to a quarter of the dense step; with a quarter of the window free or less, not at all", () => {
    const stats = learned(2 * MIN, 0.1);
    const at99 = { elapsedMs: 10 * MIN, stats, progress: [{ atMs: 9 * MIN, progress: 99 }] };
    const step = delay(at99);
    expect(step).toBe(Math.round(0.03 * 10 * MIN));
    expect(delay({ ...at99, spareRate: 0 })).toBe(step);
    expect(delay({ ...at99, spareRate: 0.25 })).toBe(step);
    expect(delay({ ...at99, spareRate: 0.375 })).toBe(Math.round(step * 0.625));
    expect(delay({ ...at99, spareRate: 0.5 })).toBe(Math.round(step / 4));
    expect(delay({ ...at99, spareRate: 1 })).toBe(Math.round(step / 4));
    // far from the expected finish the jump ahead is the same: room to spare goes to polls near the finish
    const far = { elapsedMs: 10_000, stats: learned(5 * MIN, 0.1) };
    expect(delay({ ...far, spareRate: 1 })).toBe(delay(far));
  });

  it("spends a spare rate on detection: videos of 5–10 min are detected over 2.5 times sooner, for a few more polls", () => {
    const stats = { n: 100, mean: 11.5, variance: 1 };
    const durations = Array.from({ length: 50 }, (_, i) => 5 * MIN + i * 6_000);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const plain = durations.map((d) => run(d, { stats }));
    const spending = durations.map((d) => run(d, { stats, spareRate: 0.8 }));
    expect(mean(spending.map((r) => r.delayMs))).toBeLessThan(mean(plain.map((r) => r.delayMs)) / 2.5);
    expect(mean(spending.map((r) => r.polls))).toBeGreaterThan(mean(plain.map((r) => r.polls)));
    expect(mean(spending.map((r) => r.polls))).toBeLessThanOrEqual(mean(plain.map((r) => r.polls)) + 6);
  });

  it("says how likely each poll is to find the task done: little far before the expected finish, much near and past it", () => {
    const stats = learned(5 * MIN, 0.1);
    const far = adaptivePoll({ elapsedMs: 10_000, size: 1, progress: [], bounds: video, random: none, stats });
    const near = adaptivePoll({ elapsedMs: 4.9 * MIN, size: 1, progress: [], bounds: video, random: none, stats });
    const past = adaptivePoll({ elapsedMs: 6 * MIN, size: 1, progress: [], bounds: video, random: none, stats });
    expect(far.chance).toBeLessThan(0.05);
    expect(near.chance).toBeGreaterThan(0.15);
    expect(past.chance).toBeGreaterThan(near.chance!);
    expect(past.chance).toBeLessThanOrEqual(1);
    // the chance is that of the delay returned
    expect(far.delayMs).toBe(delay({ elapsedMs: 10_000, stats }));
  });

  it("shortens delays by at most 10% at random", () => {
    const stats = learned(MIN, 0.3);
    const plain = delay({ elapsedMs: 20_000, stats });
    const jittered = delay({ elapsedMs: 20_000, stats, random: () => 0.999 });
    expect(jittered).toBeLessThan(plain);
    expect(jittered).toBeGreaterThanOrEqual(Math.floor(plain * 0.9));
  });

  it("meets the goal for videos of 5 s to 5 min that report progress: 95% within max(2 s, 10%), ≤ 12 polls at 5 min", () => {
    const stats = { n: 100, mean: 10.9, variance: 0.9 }; // what uniform 5 s–5 min durations leave behind
    const durations = Array.from({ length: 100 }, (_, i) => 5000 + i * 2980);
    const runs = durations.map((d) => ({ d, ...run(d, { stats }) }));
    expect(runs.filter((r) => r.delayMs <= Math.max(2000, 0.1 * r.d)).length).toBeGreaterThanOrEqual(95);
    for (const r of runs.filter((r) => r.d >= 4.5 * MIN)) expect(r.polls).toBeLessThanOrEqual(12);
  });

  it("meets the goal when one model's durations spread geometrically from 5 s to 5 min: 95% within max(2 s, 10%), ≤ 12 polls at 5 min", () => {
    const spread = Math.log(60);
    const stats = { n: 100, mean: Math.log(5000) + spread / 2, variance: spread ** 2 / 12 };
    const durations = Array.from({ length: 100 }, (_, i) => 5000 * Math.exp((spread * i) / 99));
    const runs = durations.map((d) => ({ d, ...run(d, { stats }) }));
    expect(runs.filter((r) => r.delayMs <= Math.max(2000, 0.1 * r.d)).length).toBeGreaterThanOrEqual(95);
    for (const r of runs.filter((r) => r.d >= 4.5 * MIN)) expect(r.polls).toBeLessThanOrEqual(12);
    // without progress no schedule can: 10% steps from 5 s to 5 min alone are ln 60 / ln 1.1 ≈ 43 polls
    expect(run(5 * MIN, { stats }, false).polls).toBeGreaterThan(30);
  });

  it("uses the progress: without it, a 5-minute video takes more polls for the same precision", () => {
    const stats = { n: 100, mean: 10.9, variance: 0.9 };
    expect(run(5 * MIN, { stats }).polls).toBeLessThan(run(5 * MIN, { stats }, false).polls / 2);
  });
});
