import pino from "pino";
import { describe, expect, it } from "vitest";
import { resolveModel } from "../../src/providers/model-registry.js";
import { pollDelayMs } from "../../src/polling/poll-delay.js";
import { requestSize } from "../../src/providers/request-size.js";
import type { DurationStatsStore } from "../../src/polling/duration-stats-store.js";
import { initialState, type PollState } from "../../src/state/job-state.js";
import { asPolling } from "../support/job-states.js";
import { PollPlanner } from "../../src/polling/poll-planner.js";
import { pollStep } from "../../src/visit/steps/poll-step.js";
import type { StepContext } from "../../src/visit/steps/step-context.js";
import type { TaskStatus } from "../../src/providers/provider.js";

const log = pino({ level: "silent" });
const video = resolveModel("tokenhub", "hy-video-1.5")!;
const half = () => 0.5;

/** A stats store in memory with the real one's two methods, recording what it was told. */
function memoryStats(stats?: { n: number; mean: number; variance: number }) {
  const recorded: Array<{ model: string; durationMs: number; size: number }> = [];
  const store = {
    get: async () => stats,
    record: async (_provider: string, model: string, durationMs: number, size = 1) => void recorded.push({ model, durationMs, size }),
  } as unknown as DurationStatsStore;
  return { store, recorded };
}

const polling = (over: Partial<PollState> = {}): PollState => ({
  ...initialState(0, 3_600_000),
  step: "poll",
  taskId: "t-1",
  submitCalls: 1,
  submittedAt: 10_000,
  ...over,
});

describe("requestSize", () => {
  it("scales videos by their seconds against 5 s and images by their count", () => {
    expect(requestSize("video", { duration: 10 })).toBe(2);
    expect(requestSize("video", {})).toBe(1);
    expect(requestSize("image", { n: 4 })).toBe(4);
    expect(requestSize("image", { n: -1 })).toBe(1);
    expect(requestSize("3d", { duration: 10 })).toBe(1);
  });
});

describe("PollPlanner", () => {
  it("fixed: today's 1.5x backoff from the poll count", async () => {
    const planner = new PollPlanner({ mode: "fixed", random: half, log });
    const job = { model: video, input: {}, now: () => 50_000 };
    expect((await planner.plan(polling({ polls: 3 }), job)).delayMs).toBe(pollDelayMs(3, video.poll, { random: half }));
  });

  it("adaptive: polls a video at 96% progress within seconds, where the fixed schedule waits a minute", async () => {
    const planner = new PollPlanner({ mode: "adaptive", random: half, log });
    const state = polling({
      polls: 8,
      progressSamples: [
        { atMs: 200_000, progress: 80 },
        { atMs: 240_000, progress: 96 },
      ],
    });
    const adaptive = (await planner.plan(state, { model: video, input: {}, now: () => 250_000 })).delayMs;
    expect(adaptive).toBeLessThan(20_000);
    expect(pollDelayMs(8, video.poll, { random: half })).toBe(60_000);
  });

  it("adaptive: polls closer together near the finish while the provider's rate has room to spare", async () => {
    const planner = new PollPlanner({ mode: "adaptive", random: half, log });
    const state = polling({ polls: 8, progressSamples: [{ atMs: 9 * 60_000, progress: 99 }] });
    const at = async (spareRate: number | undefined) =>
      (await planner.plan(state, { model: video, input: {}, now: () => 10_000 + 10 * 60_000, slots: { spareRate: () => spareRate } }))
        .delayMs;
    const full = await at(0);
    expect(await at(undefined)).toBe(full);
    expect(await at(0.9)).toBe(Math.round(full / 4));
  });

  it("adaptive: a request twice as long gets a later first poll", async () => {
    const { store } = memoryStats({ n: 100, mean: Math.log(20_000), variance: 0.04 });
    const planner = new PollPlanner({ mode: "adaptive", stats: store, random: half, log });
    const gateway = resolveModel("gateway", "wan2.7-t2v")!;
    const first = async (input: Record<string, unknown>) =>
      (await planner.plan(polling({ submittedAt: 0 }), { model: gateway, input, now: () => 0 })).delayMs;
    expect(await first({ duration: 10 })).toBeCloseTo(2 * (await first({ duration: 5 })), -2);
  });

  it("learns the midpoint between the last pending answer and the finished one, per unit of size", async () => {
    const { store, recorded } = memoryStats();
    const planner = new PollPlanner({ stats: store, log });
    await planner.learn(polling({ submittedAt: 10_000, lastPendingAt: 70_000 }), {
      model: video,
      input: { duration: 10 },
      now: () => 80_000,
    });
    expect(recorded).toEqual([{ model: "hy-video-1.5", durationMs: 65_000, size: 2 }]);
  });

  it("goes on without statistics when Redis cannot give them", async () => {
    const failing = {
      get: () => Promise.reject(new Error("down")),
      record: () => Promise.reject(new Error("down")),
    } as unknown as DurationStatsStore;
    const planner = new PollPlanner({ stats: failing, random: half, log });
    const job = { model: video, input: {}, now: () => 20_000 };
    expect((await planner.plan(polling(), job)).delayMs).toBeGreaterThan(0);
    await expect(planner.learn(polling(), job)).resolves.toBeUndefined();
  });
});

describe("pollStep with the planner", () => {
  function context(status: TaskStatus, now: number, stats = memoryStats()) {
    const ctx = {
      jobId: "job-1",
      model: video,
      input: {},
      request: { provider: "tokenhub", model: video.id, input: {}, tenant: "web" },
      provider: { name: "tokenhub", submit: () => Promise.reject(new Error("no")), poll: async () => status },
      log,
      planner: new PollPlanner({ stats: stats.store, random: half, log }),
      pollScale: 1,
      random: half,
      now: () => now,
      slots: { request: async () => 0, spareRate: () => undefined },
    } as unknown as StepContext;
    return { ctx, recorded: stats.recorded };
  }

  it("keeps the last four progress reports, as ms since the submit", async () => {
    let state = polling();
    for (const [at, progress] of [
      [20_000, 5],
      [30_000, 10],
      [40_000, 15],
      [50_000, 20],
      [60_000, 25],
    ] as const) {
      const outcome = await pollStep(state, context({ state: "pending", providerStatus: "in_progress", progress }, at).ctx);
      expect(outcome.type).toBe("wait");
      state = asPolling(outcome.state);
    }
    expect(state.progressSamples).toEqual([
      { atMs: 20_000, progress: 10 },
      { atMs: 30_000, progress: 15 },
      { atMs: 40_000, progress: 20 },
      { atMs: 50_000, progress: 25 },
    ]);
    expect(state.lastPendingAt).toBe(60_000);
  });

  it("keeps the chance the next poll finds the task done, and stands that poll in the rate's line by it", async () => {
    const { ctx } = context({ state: "pending", providerStatus: "in_progress", progress: 90 }, 100_000);
    const outcome = await pollStep(polling({ progressSamples: [{ atMs: 80_000, progress: 80 }] }), ctx);
    const chance = asPolling(outcome.state).pollChance;
    expect(chance).toBeGreaterThan(0);
    expect(chance).toBeLessThanOrEqual(1);
    const asked: Array<[string, number | undefined]> = [];
    const next = {
      ...ctx,
      slots: { request: async (_id: string, tenant: string, c?: number) => (asked.push([tenant, c]), 0), spareRate: () => undefined },
    } as unknown as StepContext;
    await pollStep(asPolling(outcome.state), next);
    // and the job's tenant: behind a rate, its polls count in its fair share
    expect(asked).toEqual([["web", chance]]);
  });

  it("records the duration of a task that succeeded, and only then", async () => {
    const ok = context({ state: "succeeded", outputs: [] }, 100_000);
    await pollStep(polling({ lastPendingAt: 90_000 }), ok.ctx);
    expect(ok.recorded).toEqual([{ model: "hy-video-1.5", durationMs: 85_000, size: 1 }]);
    const failed = context({ state: "failed", code: "x", message: "no" }, 100_000);
    await pollStep(polling({ lastPendingAt: 90_000 }), failed.ctx);
    expect(failed.recorded).toEqual([]);
  });

  it("behind a full rate window, waits for its turn (plus up to a quarter more), without calling the provider", async () => {
    const { ctx } = context({ state: "succeeded", outputs: [] }, 100_000);
    let polled = 0;
    const full = {
      ...ctx,
      provider: { ...ctx.provider, poll: async () => (polled++, { state: "succeeded" as const, outputs: [] }) },
      slots: { request: async () => 120 },
    } as unknown as StepContext;
    const state = polling({ lastPendingAt: 90_000 });
    const outcome = await pollStep(state, full);
    expect(outcome).toMatchObject({ type: "wait", state, delayMs: 135, reason: "waiting for the provider's rate" });
    expect(polled).toBe(0);
  });
});
