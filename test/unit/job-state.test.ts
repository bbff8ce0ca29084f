import { describe, expect, it } from "vitest";
import { JobState, initialState, runOf } from "../../src/state/job-state.js";
import { eventSubject } from "../../src/contract/webhook-message.js";
import { readState } from "../../src/queue/kiln-job.js";

// States as the previous version stored them: one flat object, every field but the first three optional.
const base = { startedAt: 1, deadlineAt: 2, submitCalls: 1, slot: true, polls: 3, errors: 0, archived: [] };
const previous = {
  submit: { ...base, step: "submit", submitCalls: 0, slot: false },
  poll: { ...base, step: "poll", taskId: "t-1", submittedAt: 5, providerStatus: "in_progress", progress: 40 },
  archive: {
    ...base,
    step: "archive",
    taskId: "t-1",
    sources: [{ url: "https://cdn.example/a.png", expiresAt: "2026-12-07T00:00:00Z" }],
    providerCompletedAt: 9,
    archived: [{ index: 0, key: "k", url: "s3://b/k", contentType: "image/png", bytes: 3, sha256: "0".repeat(64) }],
  },
  notify: { ...base, step: "notify", taskId: "t-1", archivedAt: 11 },
} as const;

describe("JobState: one shape per step", () => {
  it.each(Object.entries(previous))("reads a %s state stored by the previous version, unchanged", (_step, stored) => {
    expect(readState({ progress: stored })).toEqual({ kind: "state", state: stored });
  });

  it("a state missing what its step needs is unreadable, naming the field (such a job fails rather than guessing)", () => {
    const { taskId: _taskId, ...pollWithoutTask } = previous.poll;
    expect(readState({ progress: pollWithoutTask })).toEqual({ kind: "unreadable", reason: expect.stringMatching(/taskId/) });
    const { sources: _sources, ...archiveWithoutSources } = previous.archive;
    expect(JobState.safeParse(archiveWithoutSources).success).toBe(false);
  });
});

describe("a retried job's state: no state, only the number of its next run", () => {
  it("reads `{ run }` as no state with that run, which the run's first state and its event subject carry", () => {
    const stored = readState({ progress: { run: 2 } });
    expect(stored).toEqual({ kind: "none", run: 2 });
    expect(runOf(stored)).toBe(2);
    expect(runOf(readState({ progress: initialState(1, 2, 3) }))).toBe(3);
    // a first run has no number: its webhook ids are those it had before runs existed
    expect(eventSubject("generate-tokenhub", "j", 5, undefined)).toBe(eventSubject("generate-tokenhub", "j", 5, 1));
    expect(eventSubject("generate-tokenhub", "j", 5, 2)).not.toBe(eventSubject("generate-tokenhub", "j", 5));
  });

  it("anything else without a step stays unreadable (never started over)", () => {
    for (const progress of [{ run: 1 }, { run: 2, taskId: "t" }, { run: "2" }]) expect(readState({ progress }).kind).toBe("unreadable");
  });
});
