import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { initialState, JobState } from "../../src/state/job-state.js";
import { resolveModel } from "../../src/providers/model-registry.js";
import { parseDecimal } from "../../src/billing/decimal-amount.js";
import { SecretScrubber } from "../../src/util/secret-scrubber.js";
import { budgetHook, type BudgetLedger } from "../../src/visit/hooks/budget-hook.js";
import { progressHook } from "../../src/visit/hooks/progress-hook.js";
import { scrubHook } from "../../src/visit/hooks/scrub-hook.js";
import { slotHook } from "../../src/visit/hooks/slot-hook.js";
import { tracingHook } from "../../src/visit/hooks/tracing-hook.js";
import type { Visit, VisitJob } from "../../src/visit/visit.js";
import type { AcceptedJob } from "../../src/visit/job-intake.js";
import type { StepContext } from "../../src/visit/steps/step-context.js";
import type { StepOutcome } from "../../src/visit/steps/step-outcome.js";

const model = resolveModel("tokenhub", "hy-image-v3.0")!;
const silent = pino({ level: "silent" });

function accepted(request: Partial<AcceptedJob["request"]> = {}): AcceptedJob {
  return { request: { provider: "tokenhub", model: model.id, input: { prompt: "p" }, ...request }, model, input: { prompt: "p" } };
}

/** A visit of job `j-1` whose context only persists (into `persisted`) and scrubs. */
function visitOf(request: Partial<AcceptedJob["request"]> = {}, job: Partial<VisitJob> = {}) {
  const persisted: JobState[] = [];
  const ctx = {
    secrets: new SecretScrubber(["sk-live-0123456789abcdef"]),
    persist: async (state: JobState) => void persisted.push(state),
  } as unknown as StepContext;
  const visit: Visit = {
    job: {
      id: "j-1",
      subject: "s",
      enqueuedAt: 0,
      attempt: 1,
      traced: true,
      stored: { kind: "none" },
      writeState: async () => ({}),
      ...job,
    },
    accepted: accepted(request),
    ctx,
    cancel: { known: false },
  };
  return { visit, persisted };
}

/** A state at `overrides.step` (submit by default), with what that step requires, validated as stored states are. */
const state = (overrides: Record<string, unknown> = {}): JobState =>
  JobState.parse({ ...initialState(Date.now(), 60_000), taskId: "t-1", sources: [], providerCompletedAt: 1, ...overrides });
const outcomeOf = (outcome: StepOutcome) => () => Promise.resolve(outcome);

describe("slotHook", () => {
  function slots(capped: boolean) {
    const calls: string[] = [];
    return {
      calls,
      hook: slotHook(() => ({
        release: async (id, tenant) => void calls.push(`release ${id} of ${tenant}`),
        uncapped: () => !capped,
        wakeIfHanded: async (id) => void calls.push(`wake ${id}`),
      })),
    };
  }

  it("gives a held slot back once the task is over (archive, notify, a failure), never while it is pending; names the job's tenant", async () => {
    const { visit } = visitOf({ tenant: "acme" });
    for (const [outcome, released] of [
      [{ type: "wait", state: state({ step: "poll", slot: true }), delayMs: 1, reason: "pending" }, false],
      [{ type: "next", state: state({ step: "archive", slot: true }) }, true],
      [{ type: "next", state: state({ step: "notify", slot: true }) }, true],
      [{ type: "fail", state: state({ step: "poll", slot: true }), error: { code: "task_failed", message: "x", retryable: false } }, true],
    ] as const) {
      const { hook, calls } = slots(true);
      const after = await hook.aroundStep!(visit, outcome.state, outcomeOf(outcome));
      expect(calls).toEqual(released ? ["release j-1 of acme"] : []);
      expect(after.state.slot).toBe(!released);
    }
  });

  it("a capped job failing while it waits in line leaves the line; an uncapped one calls nothing", async () => {
    const { visit } = visitOf();
    const fail: StepOutcome = { type: "fail", state: state(), error: { code: "cancelled", message: "x", retryable: false } };
    const capped = slots(true);
    await capped.hook.aroundStep!(visit, fail.state, outcomeOf(fail));
    expect(capped.calls).toEqual(["release j-1 of default"]);
    const uncapped = slots(false);
    await uncapped.hook.aroundStep!(visit, fail.state, outcomeOf(fail));
    expect(uncapped.calls).toEqual([]);
  });

  it("a parked job wakes itself if handed a slot while parking; an abandoned job gives its slot back", async () => {
    const { visit } = visitOf();
    const { hook, calls } = slots(true);
    await hook.afterPark!(visit);
    await hook.abandoned!(visit, undefined);
    expect(calls).toEqual(["wake j-1", "release j-1 of default"]);
    const free = slots(false);
    await free.hook.abandoned!(visit, state({ slot: false }));
    expect(free.calls).toEqual([]);
  });
});

describe("budgetHook", () => {
  function ledger() {
    const calls: unknown[] = [];
    const budget: BudgetLedger = {
      reserve: async (child, deadlineAt) => (calls.push(["reserve", child.batchId, child.jobId, deadlineAt]), { ok: true }),
      settle: async (batchId, jobId, actual) => void calls.push(["settle", batchId, jobId, actual]),
    };
    return { calls, hook: budgetHook(budget) };
  }
  const batch = { id: "b-1", custom_id: "line-1" };

  it("a batch child reserves before its submit, under its deadline, and settles its cost (0 when unpriced) before its webhook", async () => {
    const { calls, hook } = ledger();
    const { visit } = visitOf({ batch });
    expect(await hook.admit!(visit, state({ deadlineAt: 99 }))).toEqual({ ok: true });
    await hook.beforeFinish!(visit, { cost: { amount: "0.25", currency: "USD" } } as GenerationResult);
    await hook.beforeFinish!(visit, {} as GenerationResult);
    expect(calls).toEqual([
      ["reserve", "b-1", "j-1", 99],
      ["settle", "b-1", "j-1", parseDecimal("0.25")],
      ["settle", "b-1", "j-1", 0n],
    ]);
  });

  it("a job outside any batch touches no budget", async () => {
    const { calls, hook } = ledger();
    const { visit } = visitOf();
    expect(await hook.admit!(visit, state())).toEqual({ ok: true });
    await hook.beforeFinish!(visit, {} as GenerationResult);
    expect(calls).toEqual([]);
  });
});

describe("progressHook", () => {
  function notifier(fail = false) {
    const sent: Array<[string, number | undefined]> = [];
    return {
      sent,
      notifier: {
        notifyProgress: async (_s: string, _w: unknown, event: string, _d: unknown, _at: number, sequence?: number) => {
          if (fail) throw new Error("redis down");
          sent.push([event, sequence]);
          return true;
        },
      },
    };
  }

  it("sends generation.started, then progress at most every 500 ms, noting when in the state", async () => {
    const { sent, notifier: n } = notifier();
    const hook = progressHook(n, silent);
    const { visit, persisted } = visitOf();
    await hook.started!(visit, state());
    await hook.beforeWait!(visit, state({ step: "poll", polls: 1 }));
    expect(sent).toEqual([
      ["generation.started", undefined],
      ["generation.progress", 1],
    ]);
    expect(persisted).toHaveLength(1);
    // sent a moment ago: not due again
    await hook.beforeWait!(visit, { ...persisted[0]!, polls: 2 });
    expect(sent).toHaveLength(2);
  });

  it("a progress webhook that cannot be enqueued never fails the visit", async () => {
    const hook = progressHook(notifier(true).notifier, silent);
    const { visit, persisted } = visitOf();
    await expect(hook.beforeWait!(visit, state({ step: "poll" }))).resolves.toBeUndefined();
    expect(persisted).toEqual([]);
  });
});

describe("scrubHook", () => {
  it("scrubs the step's outcome with the visit's secrets before anyone else sees it", async () => {
    const { visit } = visitOf();
    const failed: StepOutcome = {
      type: "fail",
      state: state({ lastError: "key sk-live-0123456789abcdef refused" }),
      error: { code: "authentication", message: "bad key sk-live-0123456789abcdef", retryable: false },
    };
    const after = await scrubHook.aroundStep!(visit, failed.state, outcomeOf(failed));
    expect(JSON.stringify(after)).not.toContain("sk-live-0123456789abcdef");
    expect(after).toMatchObject({ type: "fail", error: { code: "authentication" } });
  });
});

describe("tracingHook", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => provider.register());
  afterAll(() => provider.shutdown());

  it("wraps each step and the end in a span named after it, with the job's attributes and the outcome", async () => {
    exporter.reset();
    const { visit } = visitOf();
    const wait: StepOutcome = { type: "wait", state: state({ step: "poll", polls: 3, taskId: "t-9" }), delayMs: 1, reason: "pending" };
    expect(await tracingHook.aroundStep!(visit, wait.state, outcomeOf(wait))).toBe(wait);
    const result = { status: "failed" } as GenerationResult;
    await tracingHook.aroundFinish!(visit, { ...state({ step: "notify" }), result }, () => Promise.resolve(result));
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["kiln.poll", "kiln.notify"]);
    expect(spans[0]!.attributes).toMatchObject({ "kiln.job_id": "j-1", "kiln.outcome": "wait", "kiln.polls": 3, "kiln.task_id": "t-9" });
    expect(spans[1]!.attributes).toMatchObject({ "kiln.outcome": "failed" });
  });

  it("an untraced job keeps its first visit's span in its state, and later visits' spans hang under it", async () => {
    exporter.reset();
    const { visit } = visitOf({}, { traced: false });
    const tracer = provider.getTracer("test");
    const first = await tracer.startActiveSpan("first visit", async (span) => {
      const s = tracingHook.initialState!(visit.job, state());
      span.end();
      return s;
    });
    expect(first.trace).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const traced = tracingHook.initialState!(visitOf().visit.job, state());
    expect(traced.trace).toBeUndefined();
    const next: StepOutcome = { type: "wait", state: { ...first, step: "poll", taskId: "t-1" }, delayMs: 1, reason: "pending" };
    await tracingHook.aroundStep!(visit, next.state, outcomeOf(next));
    const step = exporter.getFinishedSpans().find((s) => s.name === "kiln.poll")!;
    expect(step.spanContext().traceId).toBe(first.trace!.split("-")[1]);
  });
});
