import { describe, expect, it } from "vitest";
import { JobState } from "../../src/state/job-state.js";
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
