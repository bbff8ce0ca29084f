import pino from "pino";
import { describe, expect, it } from "vitest";
import { resolveModel } from "../../src/providers/model-registry.js";
import type { Provider, SubmitResult } from "../../src/providers/provider.js";
import { ProviderError } from "../../src/providers/provider-error.js";
import { outcomeOfError } from "../../src/visit/steps/error-outcome.js";
import { deadlineOf } from "../../src/visit/deadlines.js";
import { ArchiveError } from "../../src/storage/archive-error.js";
import { initialState, type JobState } from "../../src/state/job-state.js";
import type { StepContext } from "../../src/visit/steps/step-context.js";
import { submitStep } from "../../src/visit/steps/submit-step.js";
import { PollPlanner } from "../../src/polling/poll-planner.js";

const model = resolveModel("tokenhub", "hy-video-1.5")!;

/** A step context around `submit`, recording every state written, in order. */
function context(
  submit: () => Promise<SubmitResult>,
  options: { onUnknownSubmit?: "retry" | "fail"; freeSlot?: boolean; behind?: "cap" | "rate"; rateRoomInMs?: number } = {},
) {
  const written: JobState[] = [];
  const provider: Provider = { name: "tokenhub", submit, poll: () => Promise.reject(new Error("not polled here")) };
  const ctx = {
    jobId: "job-1",
    subject: "generate-tokenhub\njob-1\n0",
    enqueuedAt: 0,
    request: { provider: "tokenhub", model: model.id, input: { prompt: "p" } },
    input: { prompt: "p" },
    model,
    provider,
    slots: {
      acquire: async () => options.freeSlot ?? true,
      uncapped: () => true,
      holdsSlot: () => options.behind !== "rate",
      request: async () => options.rateRoomInMs ?? 0,
      spareRate: () => undefined,
      recheckDelayMs: async () => 25_000,
    },
    admit: async () => ({ ok: true }),
    log: pino({ level: "silent" }),
    persist: async (state: JobState) => void written.push(state),
    deadlineMs: 60_000,
    onUnknownSubmit: options.onUnknownSubmit ?? "retry",
    observeSubmitWindow: () => undefined,
    planner: new PollPlanner({ mode: "fixed", random: () => 0.5, log: pino({ level: "silent" }) }),
    pollScale: 1,
    random: () => 0.5,
    now: () => 1_000,
  } as unknown as StepContext;
  return { ctx, written };
}

describe("submitStep", () => {
  it("stores the call before making it and the task id right after, then waits to poll", async () => {
    const { ctx, written } = context(async () => ({ type: "task", taskId: "t-1", status: { state: "pending", providerStatus: "queued" } }));
    const outcome = await submitStep(initialState(0, 1), ctx);
    expect(written.map((s) => [s.submitCalls, s.taskId])).toEqual([
      [1, undefined],
      [1, "t-1"],
    ]);
    expect(outcome).toMatchObject({ type: "wait", state: { step: "poll", taskId: "t-1" } });
    // the deadline counts from this submit, not from the job's first visit
    expect(written[0]!.deadlineAt).toBe(61_000);
  });

  it("a job that already has a task id never submits again", async () => {
    const { ctx } = context(() => Promise.reject(new Error("must not be called")));
    expect(await submitStep({ ...initialState(0, 1), submitCalls: 1, taskId: "t-1" }, ctx)).toMatchObject({
      type: "next",
      state: { step: "poll" },
    });
  });

  it("an unreadable 2xx is an unknown outcome: retried by default, with the task id it held kept for the log", async () => {
    const { ctx } = context(() =>
      Promise.reject(new ProviderError("bad_response", 'answered 200 with a body that is not JSON: {"id":"t-9","obj', { status: 200 })),
    );
    const outcome = await submitStep(initialState(0, 1), ctx);
    expect(outcome).toMatchObject({ type: "wait", state: { submitCalls: 1, unknownTaskIds: ["t-9"] } });
  });

  it("with onUnknownSubmit=fail a 5xx or a crashed earlier call ends the job as submit_unknown", async () => {
    const { ctx } = context(() => Promise.reject(new ProviderError("server", "engine error", { status: 500 })), {
      onUnknownSubmit: "fail",
    });
    expect(await submitStep(initialState(0, 1), ctx)).toMatchObject({ type: "fail", error: { code: "submit_unknown" } });
    expect(await submitStep({ ...initialState(0, 1), submitCalls: 1 }, ctx)).toMatchObject({
      type: "fail",
      error: { code: "submit_unknown", message: expect.stringContaining("worker stopped mid-call") },
    });
  });

  it("a 4xx created no task: the call does not count towards the submit window", async () => {
    const { ctx } = context(() => Promise.reject(new ProviderError("rate_limited", "slow down", { status: 429, retryAfterMs: 2000 })));
    const outcome = await submitStep(initialState(0, 1), ctx);
    expect(outcome).toMatchObject({ type: "throttle", state: { submitCalls: 0 } });
  });

  it("no free in-flight slot: waits without calling the provider and without starting the deadline", async () => {
    const { ctx, written } = context(() => Promise.reject(new Error("must not be called")), { freeSlot: false });
    const outcome = await submitStep(initialState(0, 1), ctx);
    expect(outcome).toMatchObject({ type: "park", reason: "waiting for an in-flight slot", state: { submitCalls: 0 } });
    expect(written).toEqual([]);
  });

  it("a job that kept its slot through an earlier call takes room in the provider's rate before calling again", async () => {
    const { ctx, written } = context(() => Promise.reject(new Error("must not be called")), { rateRoomInMs: 300 });
    const outcome = await submitStep({ ...initialState(0, 1), slot: true, submitCalls: 1 }, ctx);
    expect(outcome).toMatchObject({ type: "wait", reason: "waiting for the provider's rate", state: { submitCalls: 1, slot: true } });
    expect((outcome as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(300);
    expect(written).toEqual([]);
  });

  it("no room in the provider's rate: waits the same way, saying so", async () => {
    const { ctx, written } = context(() => Promise.reject(new Error("must not be called")), { freeSlot: false, behind: "rate" });
    const outcome = await submitStep(initialState(0, 1), ctx);
    expect(outcome).toMatchObject({ type: "park", reason: "waiting for the provider's rate", state: { submitCalls: 0 } });
    expect(written).toEqual([]);
  });
});

describe("outcomeOfError and deadlineOf", () => {
  const { ctx } = context(() => Promise.reject(new Error("unused")));
  it("fatal kinds fail at once with their code; transient ones wait; past the deadline they fail as timed_out", () => {
    const state: JobState = { ...initialState(0, 1), step: "poll", taskId: "t-1", deadlineAt: 100_000 };
    expect(outcomeOfError(new ProviderError("authentication", "bad key", { status: 401 }), state, ctx)).toMatchObject({
      type: "fail",
      error: { code: "authentication" },
    });
    expect(outcomeOfError(new ProviderError("server", "oops", { status: 503 }), state, ctx)).toMatchObject({
      type: "wait",
      state: { errors: 1 },
    });
    expect(outcomeOfError(new ProviderError("server", "oops", { status: 503 }), { ...state, deadlineAt: 1_001 }, ctx)).toMatchObject({
      type: "fail",
      error: { code: "timed_out" },
    });
  });

  it("archive errors: an ArchiveError or a final provider error fails at once; past the archive deadline the job fails archive_failed", () => {
    const state: JobState = { ...initialState(0, 1), step: "archive", sources: [], deadlineAt: 500, providerCompletedAt: 900 };
    const archiving = { ...ctx, archiveWindowMs: 100 };
    expect(outcomeOfError(new ArchiveError("too large"), state, archiving)).toMatchObject({
      type: "fail",
      error: { code: "archive_failed", retryable: false },
    });
    expect(outcomeOfError(new ProviderError("bad_response", "loop", { retryable: false }), state, archiving)).toMatchObject({
      type: "fail",
      error: { code: "bad_response", retryable: false },
    });
    expect(outcomeOfError(new Error("ENOSPC"), state, archiving)).toMatchObject({
      type: "fail",
      error: { code: "archive_failed", retryable: true, message: expect.stringContaining("ENOSPC") },
    });
    expect(outcomeOfError(new Error("ENOSPC"), state, { ...archiving, archiveWindowMs: 3_600_000 })).toMatchObject({
      type: "wait",
    });
  });

  it("archiving gets at least an hour after the provider finished, whatever the task's deadline", () => {
    const state: JobState = { ...initialState(0, 1), step: "archive", sources: [], deadlineAt: 5_000, providerCompletedAt: 4_000 };
    expect(deadlineOf(state)).toBe(4_000 + 3_600_000);
    expect(deadlineOf({ ...state, step: "poll", taskId: "t-1" })).toBe(5_000);
  });
});
