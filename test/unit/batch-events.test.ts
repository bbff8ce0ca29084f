import { describe, expect, it } from "vitest";
import { batchCursorOf, batchEnded, batchEventsFor, type BatchCursor } from "../../src/server/batch-events.js";

const status = (completed: number, failed: number, pending: number, summary?: unknown) => ({
  id: "b1",
  state: summary ? "completed" : "waiting-children",
  sealed: true,
  total: 3,
  invalid: 0,
  counts: { completed, failed, pending },
  ...(summary ? { summary } : {}),
});

function run(statuses: unknown[], cursor: BatchCursor = { ended: false }) {
  const sent: Array<{ event: string; id: string; data: unknown }> = [];
  for (const s of statuses) {
    const step = batchEventsFor(s, cursor);
    sent.push(...step.events);
    cursor = step.cursor;
  }
  return sent;
}

describe("batchEventsFor", () => {
  it("progress when the counts change, then completed with the summary", () => {
    const sent = run([status(0, 0, 3), status(0, 0, 3), status(1, 1, 1), status(2, 1, 0, { id: "b1" })]);
    expect(sent.map((e) => e.event)).toEqual(["progress", "progress", "progress", "completed"]);
    expect(sent[1]?.data).toEqual({ total: 3, completed: 1, failed: 1, pending: 1 });
    expect(sent.at(-1)).toEqual({
      id: "completed",
      event: "completed",
      data: { total: 3, completed: 2, failed: 1, pending: 0, summary: { id: "b1" } },
    });
  });

  it("resumes from Last-Event-ID: the counts seen are not sent again; after completed nothing is", () => {
    const seen = run([status(1, 0, 2)])[0]!.id;
    expect(run([status(1, 0, 2)], batchCursorOf(seen))).toEqual([]);
    expect(run([status(2, 0, 1)], batchCursorOf(seen)).map((e) => e.event)).toEqual(["progress"]);
    expect(batchCursorOf("completed")).toEqual({ ended: true });
    expect(run([status(3, 0, 0, { id: "b1" })], batchCursorOf("completed"))).toEqual([]);
    expect(batchCursorOf("nonsense")).toEqual({ ended: false });
  });

  it("a batch has ended once it completed", () => {
    expect(batchEnded(status(1, 0, 2))).toBe(false);
    expect(batchEnded(status(3, 0, 0, { id: "b1" }))).toBe(true);
    expect(batchEnded(undefined)).toBe(false);
  });
});
