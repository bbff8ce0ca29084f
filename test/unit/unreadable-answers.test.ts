import { SecretScrubber } from "../../src/util/secret-scrubber.js";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { resolveModel } from "../../src/providers/model-registry.js";
import type { Provider, TaskStatus } from "../../src/providers/provider.js";
import { ProviderError } from "../../src/providers/provider-error.js";
import { initialState, type PollState } from "../../src/state/job-state.js";
import { asPolling } from "../support/job-states.js";
import type { StepContext } from "../../src/visit/steps/step-context.js";
import type { StepOutcome } from "../../src/visit/steps/step-outcome.js";
import { pollStep } from "../../src/visit/steps/poll-step.js";
import { submitStep } from "../../src/visit/steps/submit-step.js";
import { PollPlanner } from "../../src/polling/poll-planner.js";
import { answerExcerpt } from "../../src/visit/steps/answer-excerpt.js";
import { FREE_SLOTS } from "../support/free-slots.js";

const KEY = "sk-live-0123456789abcdef";
const model = resolveModel("gateway", "MiniMax-Hailuo-2.3")!;
const garbage = { request_id: "r", notice: `key ${KEY} refused`, authorization: "Bearer abc", payload: "x".repeat(5000) };
const unreadable = () => new ProviderError("bad_response", "minimax-video task answer matched no reading", { answer: garbage });
const pending: TaskStatus = { state: "pending", providerStatus: "Processing" };

/** A poll context whose provider answers each poll with the next of `answers` (an error is thrown). */
function context(answers: Array<TaskStatus | Error>, maxBadAnswers = 3) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const poll = () => {
    const next = answers.shift()!;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  const provider: Provider = { name: "gateway", submit: () => Promise.reject(new Error("not submitted here")), poll };
  const ctx = {
    jobId: "job-1",
    model,
    request: { provider: "gateway", model: model.id, input: {} },
    provider,
    log,
    maxBadAnswers,
    secrets: new SecretScrubber([KEY]),
    planner: new PollPlanner({ mode: "fixed", random: () => 0.5, log: pino({ level: "silent" }) }),
    pollScale: 1,
    random: () => 0.5,
    now: () => 1_000,
    slots: { request: async () => 0 },
  } as unknown as StepContext;
  return { ctx, lines };
}

/** Polls until the job fails or `visits` polls were made; the outcomes in order. */
async function pollRun(ctx: StepContext, visits: number): Promise<StepOutcome[]> {
  let state: PollState = { ...initialState(0, 3_600_000), step: "poll", taskId: "t-1", submittedAt: 0 };
  const outcomes: StepOutcome[] = [];
  for (let i = 0; i < visits; i++) {
    const outcome = await pollStep(state, ctx);
    outcomes.push(outcome);
    if (outcome.type === "fail") break;
    state = asPolling(outcome.state);
  }
  return outcomes;
}

describe("unreadable status answers", () => {
  it("fail the job with bad_response at the Nth in a row, after N-1 backed-off retries", async () => {
    const { ctx } = context([unreadable(), unreadable(), unreadable(), pending]);
    const outcomes = await pollRun(ctx, 4);
    expect(outcomes.map((o) => o.type)).toEqual(["wait", "wait", "fail"]);
    expect(outcomes.map((o) => o.state.badAnswers)).toEqual([1, 2, 3]);
    expect(outcomes[2]).toMatchObject({
      type: "fail",
      error: {
        code: "bad_response",
        retryable: false,
        message: expect.stringMatching(/^3 status answers in a row could not be read; the last: /),
      },
    });
  });

  it("a readable answer starts the count again; an error that is no answer neither counts nor resets it", async () => {
    const server = new ProviderError("server", "HTTP 503", { status: 503 });
    const { ctx } = context([unreadable(), unreadable(), pending, unreadable(), server, unreadable(), unreadable()]);
    const outcomes = await pollRun(ctx, 7);
    expect(outcomes.map((o) => [o.type, o.state.badAnswers])).toEqual([
      ["wait", 1],
      ["wait", 2],
      ["wait", undefined],
      ["wait", 1],
      ["wait", 1],
      ["wait", 2],
      ["fail", 3],
    ]);
  });

  it("logs the last answer once, with its credentials redacted and cut to 2 KiB", async () => {
    const { ctx, lines } = context([unreadable(), unreadable(), unreadable()]);
    await pollRun(ctx, 3);
    const logged = lines.filter((l) => l.event === "bad_response");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, jobId: "job-1", provider: "gateway", model: model.id, taskId: "t-1", badAnswers: 3 });
    const answer = String(logged[0]!.answer);
    expect(answer).toContain('"notice":"key [redacted] refused"');
    expect(answer).toContain('"authorization":"[redacted]"');
    expect(answer).not.toContain(KEY);
    expect(Buffer.byteLength(answer)).toBeLessThan(2048 + 40);
    expect(answer).toMatch(/… \(\d+ bytes in all\)$/);
  });

  it("a submit's unreadable answer is left to the unknown-outcome rule, and not counted", async () => {
    const { ctx } = context([], 1);
    const submitting = {
      ...ctx,
      provider: { ...ctx.provider, submit: () => Promise.reject(unreadable()) },
      request: { provider: "gateway", model: model.id, input: {} },
      slots: FREE_SLOTS,
      admit: async () => ({ ok: true }),
      persist: async () => undefined,
      observeSubmitWindow: () => undefined,
      deadlineMs: 60_000,
    } as unknown as StepContext;
    const failing = await submitStep(initialState(0, 1), { ...submitting, onUnknownSubmit: "fail" });
    expect(failing).toMatchObject({ type: "fail", error: { code: "submit_unknown" } });
    const retrying = await submitStep(initialState(0, 1), { ...submitting, onUnknownSubmit: "retry" });
    expect(retrying).toMatchObject({ type: "wait" });
    expect(retrying.state.badAnswers).toBeUndefined();
  });
});

describe("answerExcerpt", () => {
  it("blanks configured secrets, bearer tokens and URL signatures before it cuts", () => {
    const text = `Bearer tok.en-1 ${KEY} https://cos.example/v.mp4?q-signature=abc&x=1 end`;
    expect(answerExcerpt(text, new SecretScrubber([KEY]))).toBe("Bearer [redacted] [redacted] https://cos.example/v.mp4?… end");
    // a secret across the cut leaves none of itself behind
    expect(answerExcerpt(`${"a".repeat(10)}${KEY}`, new SecretScrubber([KEY]), 16)).toBe("aaaaaaaaaa[redac… (20 bytes in all)");
  });

  it("cuts on a character boundary", () => {
    expect(answerExcerpt("é".repeat(10), new SecretScrubber([]), 5)).toBe("éé… (20 bytes in all)");
  });
});
