import { describe, expect, it } from "vitest";
import { initialState } from "../../src/state/job-state.js";
import { SecretScrubber } from "../../src/util/secret-scrubber.js";
import { scrubbedOutcome } from "../../src/visit/hooks/scrubbed-outcome.js";
import type { StepOutcome } from "../../src/visit/steps/step-outcome.js";

const KEY = "sk-live-0123456789abcdefghij";
const JOB_SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const scrubber = new SecretScrubber([KEY]).with([JOB_SECRET]);
const state = { ...initialState(0, 60_000), step: "poll" as const, taskId: "t-1" };

describe("scrubbedOutcome (every step's outcome, before the worker stores or acts on it)", () => {
  it("scrubs a failure's message and provider code, and the state's last error and provider status", () => {
    const outcome: StepOutcome = {
      type: "fail",
      state: { ...state, lastError: `401: ${KEY}`, providerStatus: `failed (${JOB_SECRET})` },
      error: { code: "task_failed", message: `quota exhausted for ${KEY.slice(0, 12)}`, retryable: false, providerCode: KEY },
    };
    const scrubbed = scrubbedOutcome(outcome, scrubber);
    expect(JSON.stringify(scrubbed)).not.toMatch(/sk-live|c2VjcmV0/);
    expect(scrubbed).toMatchObject({
      state: { lastError: "401: [redacted]", providerStatus: "failed ([redacted])" },
      error: { message: "quota exhausted for [redacted]", providerCode: "[redacted]" },
    });
  });

  it("scrubs the reason of a wait (it is logged and shown as the job's progress)", () => {
    const outcome: StepOutcome = {
      type: "wait",
      state: { ...state, lastError: KEY },
      delayMs: 1000,
      reason: `Incorrect API key provided: ${KEY}`,
    };
    expect(scrubbedOutcome(outcome, scrubber)).toMatchObject({
      reason: "Incorrect API key provided: [redacted]",
      state: { lastError: "[redacted]" },
    });
  });

  it("returns the very same outcome when there is nothing to scrub, so a state already written is not written again", () => {
    const outcomes: StepOutcome[] = [
      { type: "next", state },
      { type: "wait", state: { ...state, providerStatus: "running" }, delayMs: 1000, reason: "running" },
      { type: "fail", state, error: { code: "timed_out", message: "no result before the deadline", retryable: true } },
    ];
    for (const outcome of outcomes) expect(scrubbedOutcome(outcome, scrubber)).toBe(outcome);
  });
});
