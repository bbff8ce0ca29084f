import { describe, expect, it } from "vitest";
import { cursorOf, generationEventsFor, positionOf, type GenerationCursor } from "../../src/server/generation-events.js";
import type { GenerationView } from "../../src/server/generation-view.js";

const base: GenerationView = {
  id: "j1",
  provider: "tokenhub",
  queue: "generate-tokenhub",
  tenant: "default",
  state: "waiting",
  outputs: [],
};
const waiting = base;
const submitting: GenerationView = { ...base, state: "active", step: "submit" };
const polling = (progress: number): GenerationView => ({ ...base, state: "delayed", step: "poll", providerStatus: "RUNNING", progress });
const completed: GenerationView = { ...base, state: "completed", step: "done", progress: 100 };
const failed: GenerationView = { ...base, state: "failed", step: "done", error: { code: "task_failed", message: "no" } };

/** The event types a stream sends for `views` read one after the other, from `cursor`. */
function run(views: GenerationView[], cursor: GenerationCursor = { seen: "nothing" }) {
  const sent: Array<{ event: string; id: string }> = [];
  for (const view of views) {
    const step = generationEventsFor(view, cursor);
    sent.push(...step.events.map((e) => ({ event: e.event, id: e.id })));
    cursor = step.cursor;
  }
  return { events: sent.map((e) => e.event), ids: sent.map((e) => e.id), cursor };
}

describe("generationEventsFor", () => {
  it("a job followed from the queue: started once, progress when the position changes, then completed", () => {
    const { events, ids } = run([waiting, waiting, submitting, polling(10), polling(10), polling(50), completed]);
    expect(events).toEqual(["started", "progress", "progress", "completed"]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.at(-1)).toBe("completed");
  });

  it("a job that already ended gives its final event alone; one that ended while the stream saw it wait also gets started", () => {
    expect(run([completed]).events).toEqual(["completed"]);
    expect(run([failed]).events).toEqual(["failed"]);
    expect(run([waiting, completed]).events).toEqual(["started", "completed"]);
  });

  it("failed carries the code and message", () => {
    const step = generationEventsFor(failed, { seen: "nothing" });
    expect(step.events).toEqual([
      { id: "failed", event: "failed", data: { id: "j1", provider: "tokenhub", code: "task_failed", message: "no" } },
    ]);
  });

  it("a running job met first sends started with where it stands", () => {
    const step = generationEventsFor(polling(40), { seen: "nothing" });
    expect(step.events).toEqual([
      { id: `started:${positionOf(polling(40))}`, event: "started", data: expect.objectContaining({ step: "poll", progress: 40 }) },
    ]);
  });

  it("resumes from Last-Event-ID without repeats: the position seen is not sent again, a newer one is, the end stops everything", () => {
    const seen = run([polling(10)]).ids[0]!;
    expect(run([polling(10)], cursorOf(seen)).events).toEqual([]);
    expect(run([polling(20), completed], cursorOf(seen)).events).toEqual(["progress", "completed"]);
    expect(run([completed], cursorOf("completed")).events).toEqual([]);
    expect(run([failed], cursorOf("failed")).events).toEqual([]);
  });

  it("an id the stream never sends starts afresh", () => {
    for (const id of [undefined, "", "progress:short", "1-0", "started:x\ny"]) expect(cursorOf(id)).toEqual({ seen: "nothing" });
  });
});
