import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { initialState, type JobState } from "../../src/state/job-state.js";
import type { StoredState } from "../../src/state/job-state.js";
import { resolveModel } from "../../src/providers/model-registry.js";
import type { Provider } from "../../src/providers/provider.js";
import type { ArchiveStore } from "../../src/storage/archive-store.js";
import { SecretScrubber } from "../../src/util/secret-scrubber.js";
import { JobResults } from "../../src/visit/job-results.js";
import { StepContexts } from "../../src/visit/step-contexts.js";
import type { VisitHook } from "../../src/visit/visit-hook.js";
import { VisitPipeline, type StepRunner } from "../../src/visit/visit-pipeline.js";
import type { VisitJob } from "../../src/visit/visit.js";
import type { AcceptedJob } from "../../src/visit/job-intake.js";
import type { OutputFetcher } from "../../src/storage/output-fetcher.js";
import type { StepOutcome } from "../../src/visit/steps/step-outcome.js";
import { FREE_SLOTS } from "../support/free-slots.js";

const model = resolveModel("tokenhub", "hy-image-v3.0")!;
const silent = pino({ level: "silent" });
const WEBHOOK = { url: "https://hooks.example/kiln", secret: `whsec_${Buffer.alloc(32, 7).toString("base64")}` };

function accepted(overrides: Partial<AcceptedJob["request"]> = {}): AcceptedJob {
  const request = { provider: "tokenhub", model: model.id, input: { prompt: "a kiln" }, webhook: WEBHOOK, ...overrides };
  return { request, model, input: { prompt: "a kiln" } };
}

/**
 * A pipeline over fakes of its ports: a job that records its state writes (in order, with
 * `firstInLine`), a notifier that records what it sends, a cancel port, and scripted steps.
 * `events` logs every port call and hook call in the order they happened.
 */
function harness(options: {
  steps: Array<(state: JobState) => StepOutcome | Promise<StepOutcome>>;
  stored?: StoredState;
  hooks?: VisitHook[];
  cancelOnWrite?: number;
  cancelRequested?: string;
}) {
  const events: string[] = [];
  const writes: Array<{ state: JobState; firstInLine?: boolean }> = [];
  const sent: Array<{ type: string; result: GenerationResult }> = [];
  const job: VisitJob = {
    id: "job-1",
    subject: "generate-tokenhub\njob-1\n0",
    enqueuedAt: 1_000,
    attempt: 1,
    traced: true,
    stored: options.stored ?? { kind: "none" },
    async writeState(state, firstInLine) {
      writes.push({ state, firstInLine });
      events.push(`write ${state.step}`);
      return writes.length === options.cancelOnWrite ? { cancelReason: "changed my mind" } : {};
    },
  };
  const scripted = [...options.steps];
  const steps: StepRunner = async (state) => {
    events.push(`step ${state.step}`);
    const next = scripted.shift();
    if (!next) throw new Error(`no step scripted for ${state.step}`);
    return next(state);
  };
  const provider: Provider = {
    name: "tokenhub",
    submit: () => Promise.reject(new Error("fake")),
    poll: () => Promise.reject(new Error("fake")),
  };
  const contexts = new StepContexts({
    provider,
    store: {} as ArchiveStore,
    fetcher: {} as OutputFetcher,
    slots: FREE_SLOTS,
    planner: { plan: async () => ({ delayMs: 1 }), learn: async () => undefined },
    log: silent,
    secrets: new SecretScrubber(["sk-configured-secret-value"]),
    observeSubmitWindow: () => undefined,
  });
  const pipeline = new VisitPipeline({
    contexts,
    results: new JobResults("tokenhub"),
    notifier: {
      async notify(_subject, _webhook, type, result) {
        sent.push({ type, result });
        events.push(`notify ${type}`);
        return true;
      },
    },
    cancelRequest: async () => {
      events.push("cancel?");
      return options.cancelRequested;
    },
    hooks: options.hooks,
    log: silent,
    steps,
  });
  return { pipeline, job, events, writes, sent, contexts };
}

const wait = (state: JobState, delayMs = 5_000): StepOutcome => ({ type: "wait", state, delayMs, reason: "pending" });

describe("VisitPipeline", () => {
  it("a new job: a first state, each step's state stored before the next runs, then a wait the adapter turns into a delay", async () => {
    const h = harness({
      steps: [
        (s) => ({ type: "next", state: { ...s, step: "poll", submitCalls: 1, taskId: "t-1" } }),
        (s) => wait({ ...s, polls: 1 }, 7_000),
      ],
    });
    const ended = await h.pipeline.run(h.job, accepted());
    expect(ended).toEqual({ type: "delayed", delayMs: 7_000 });
    expect(h.events).toEqual(["cancel?", "step submit", "write poll", "step poll", "write poll"]);
    expect(h.writes.map((w) => [w.state.step, w.state.polls, w.state.taskId])).toEqual([
      ["poll", 0, "t-1"],
      ["poll", 1, "t-1"],
    ]);
    // a new job's deadline placeholder is the model kind's (15 min for images); the submit step sets the real one
    expect(h.writes[0]!.state.deadlineAt - h.writes[0]!.state.startedAt).toBe(15 * 60_000);
    expect(h.sent).toEqual([]);
  });

  it("a failed step ends the job in the same visit: its result stored in the notify state, then sent as generation.failed", async () => {
    const h = harness({
      stored: { kind: "state", state: { ...initialState(Date.now(), 60_000), step: "poll", submitCalls: 1, taskId: "t-1" } },
      steps: [(s) => ({ type: "fail", state: s, error: { code: "task_failed", message: "refused by moderation", retryable: false } })],
    });
    const ended = await h.pipeline.run(h.job, accepted());
    expect(ended).toMatchObject({ type: "failed", result: { status: "failed", error: { code: "task_failed" }, providerTaskId: "t-1" } });
    expect(h.events).toEqual(["step poll", "write notify", "notify generation.failed"]);
    expect(h.writes[0]!.state.result).toEqual(h.sent[0]!.result);
  });

  it("a job resumed at notify is only sent (a re-run after a crash between the last write and the webhook)", async () => {
    const done = { ...initialState(Date.now(), 60_000), step: "notify" as const, taskId: "t-1", archived: [] };
    const h = harness({ stored: { kind: "state", state: done }, steps: [] });
    expect(await h.pipeline.run(h.job, accepted())).toMatchObject({ type: "completed", result: { status: "completed" } });
    expect(h.events).toEqual(["notify generation.completed"]);
  });

  it("a job with no slot parks, written first in line, and the hooks hear of it only after the adapter moved it", async () => {
    const afterPark: string[] = [];
    const hook: VisitHook = { name: "watch", afterPark: async (visit) => void afterPark.push(visit.job.id) };
    const h = harness({
      steps: [(s) => ({ type: "park", state: s, delayMs: 30_000, reason: "waiting for an in-flight slot" })],
      hooks: [hook],
    });
    const ended = await h.pipeline.run(h.job, accepted());
    expect(ended).toMatchObject({ type: "delayed", delayMs: 30_000 });
    expect(h.writes.map((w) => w.firstInLine)).toEqual([true]);
    expect(afterPark).toEqual([]);
    if (ended.type !== "delayed") throw new Error("not delayed");
    await ended.afterMove?.();
    expect(afterPark).toEqual(["job-1"]);
  });

  it("a rate-limited submit stores its state and asks the adapter to throttle the provider", async () => {
    const h = harness({ steps: [(s) => ({ type: "throttle", state: { ...s, errors: 1 }, delayMs: 2_000, reason: "429" })] });
    expect(await h.pipeline.run(h.job, accepted())).toEqual({ type: "throttled", delayMs: 2_000, reason: "429" });
    expect(h.writes.map((w) => w.state.errors)).toEqual([1]);
  });

  it("a cancel reported by a state write ends the job in this visit instead of waiting, and no other lookup is made", async () => {
    const h = harness({
      stored: { kind: "state", state: { ...initialState(Date.now(), 60_000), step: "poll", submitCalls: 1, taskId: "t-1" } },
      steps: [(s) => wait({ ...s, polls: 1 })],
      cancelOnWrite: 1,
    });
    const ended = await h.pipeline.run(h.job, accepted());
    expect(ended).toMatchObject({ type: "failed", result: { error: { code: "cancelled", message: "changed my mind" } } });
    // the poll ran unchecked; the write after it told of the cancel; no separate lookup
    expect(h.events).toEqual(["step poll", "write poll", "write notify", "notify generation.failed"]);
  });

  it("a cancel asked before a submit fails the job without running the step", async () => {
    const h = harness({ steps: [], cancelRequested: "" });
    expect(await h.pipeline.run(h.job, accepted())).toMatchObject({
      type: "failed",
      result: { error: { code: "cancelled", message: "cancelled by request" } },
    });
    expect(h.events).toEqual(["cancel?", "write notify", "notify generation.failed"]);
  });

  it("a job past its deadline fails timed_out before its step; one still waiting for its first submit has no deadline yet", async () => {
    const late = { ...initialState(0, 1), step: "poll" as const, submitCalls: 1, taskId: "t-1", providerStatus: "running" };
    const h = harness({ stored: { kind: "state", state: late }, steps: [] });
    expect(await h.pipeline.run(h.job, accepted())).toMatchObject({ type: "failed", result: { error: { code: "timed_out" } } });
    expect(h.events).not.toContain("step poll");
    const waiting = harness({ stored: { kind: "state", state: initialState(0, 1) }, steps: [(s) => wait(s)] });
    expect(await waiting.pipeline.run(waiting.job, accepted())).toMatchObject({ type: "delayed" });
  });

  it("an unreadable stored state is never started over (that would submit again): nothing runs, nothing is written", async () => {
    const h = harness({ stored: { kind: "unreadable", reason: "progress is string" }, steps: [] });
    expect(await h.pipeline.run(h.job, accepted())).toEqual({
      type: "unrunnable",
      reason: "internal: stored job state is unreadable (progress is string); not resubmitting",
    });
    expect(h.events).toEqual([]);
  });

  it("hooks wrap each step in the order given, the first outermost, and may change its outcome", async () => {
    const order: string[] = [];
    const wrap = (name: string): VisitHook => ({
      name,
      async aroundStep(_visit, _state, next) {
        order.push(`${name} in`);
        const outcome = await next();
        order.push(`${name} out`);
        return { ...outcome, state: { ...outcome.state, lastError: `${outcome.state.lastError ?? ""}${name}` } };
      },
    });
    const h = harness({ steps: [(s) => wait(s)], hooks: [wrap("a"), wrap("b")] });
    await h.pipeline.run(h.job, accepted());
    expect(order).toEqual(["a in", "b in", "b out", "a out"]);
    expect(h.writes[0]!.state.lastError).toBe("ba");
  });

  it("a hook that refuses admission is what the submit step's ctx.admit answers; the first refusal wins", async () => {
    const asked: string[] = [];
    const refuse = (name: string): VisitHook => ({
      name,
      admit: async () => {
        asked.push(name);
        return { ok: false, error: { code: "budget_exhausted", message: name, retryable: false } };
      },
    });
    let admission;
    const probe: VisitHook = {
      name: "probe",
      aroundStep: async (visit, state) => ((admission = await visit.ctx.admit(state)), wait(state)),
    };
    const withProbe = harness({ steps: [], hooks: [refuse("first"), refuse("second"), probe] });
    await withProbe.pipeline.run(withProbe.job, accepted());
    expect(admission).toMatchObject({ ok: false, error: { message: "first" } });
    expect(asked).toEqual(["first"]);
  });

  it("the first visit tells `started` hooks and gives `initialState` hooks the new state; a resumed job tells neither", async () => {
    const seen: string[] = [];
    const hook: VisitHook = {
      name: "watch",
      initialState: (_job, state) => ({ ...state, trace: "00-trace" }),
      started: async (_visit, state) => void seen.push(`started ${state.trace}`),
    };
    const h = harness({ steps: [(s) => wait(s)], hooks: [hook] });
    await h.pipeline.run(h.job, accepted());
    expect(seen).toEqual(["started 00-trace"]);
    expect(h.writes[0]!.state.trace).toBe("00-trace");
    const resumed = harness({
      stored: { kind: "state", state: { ...initialState(Date.now(), 60_000), step: "poll", submitCalls: 1, taskId: "t" } },
      steps: [(s) => wait(s)],
      hooks: [hook],
    });
    await resumed.pipeline.run(resumed.job, accepted());
    expect(seen).toHaveLength(1);
  });

  it("refuses a malformed job alone: generation.failed to the webhook its data names, and nothing thrown on hostile data", async () => {
    const h = harness({ steps: [] });
    const error = { code: "invalid_request" as const, message: "input.prompt: required", retryable: false };
    const result = await h.pipeline.refuse(h.job, { webhook: WEBHOOK, model: "x".repeat(500), metadata: { order: 7 } }, error);
    expect(result).toMatchObject({ status: "failed", model: "", metadata: { order: 7 }, error });
    expect(h.sent.map((s) => s.type)).toEqual(["generation.failed"]);
    const hostile = Object.create(null) as Record<string, unknown>;
    hostile.webhook = { url: 42 };
    await expect(h.pipeline.refuse(h.job, hostile, error)).resolves.toMatchObject({ status: "failed" });
    expect(h.sent).toHaveLength(1);
  });

  it("a job failed outside its visits gets generation.failed, scrubbed, after the hooks gave back what it held; never twice", async () => {
    const calls: string[] = [];
    const hook: VisitHook = {
      name: "watch",
      abandoned: async ({ job }) => void calls.push(`abandoned ${job.id}`),
      beforeFinish: async (_job, result) => void calls.push(`finish ${result.error?.code}`),
    };
    const h = harness({ steps: [], hooks: [hook] });
    const state = { ...initialState(Date.now(), 60_000), step: "poll" as const, taskId: "t-1" };
    await h.pipeline.failOutside(h.job, accepted(), state, "stalled with sk-configured-secret-value in hand");
    expect(calls).toEqual(["abandoned job-1", "finish internal"]);
    expect(h.sent[0]!.result.error?.message).not.toContain("sk-configured-secret-value");
    await h.pipeline.failOutside(h.job, accepted(), { ...state, step: "notify", result: h.sent[0]!.result }, "again");
    expect(h.sent).toHaveLength(1);
  });

  it("scrubs a job's own webhook secrets, each of webhook.secrets too, with the configured ones", () => {
    const { contexts } = harness({ steps: [] });
    const [newest, oldest] = [8, 9].map((n) => `whsec_${Buffer.alloc(32, n).toString("base64")}`) as [string, string];
    const text = `echoed ${WEBHOOK.secret}, ${newest}, ${oldest} and sk-configured-secret-value`;
    expect(contexts.secretsOf(accepted()).scrub(text)).not.toContain(WEBHOOK.secret.slice(6, 20));
    const scrubbed = contexts.secretsOf(accepted({ webhook: { url: WEBHOOK.url, secrets: [newest, oldest] } })).scrub(text);
    expect(scrubbed).toBe(`echoed ${WEBHOOK.secret}, [redacted], [redacted] and [redacted]`);
  });
});
