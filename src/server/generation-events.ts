import { createHash } from "node:crypto";
import type { GenerationView } from "./generation-view.js";
import type { SseEvent } from "./sse-stream.js";

/**
 * What a generation's event stream has told its client: nothing yet, that the job waits, that
 * it runs (and at which position, see `positionOf`), or its final event. The stream is built
 * from the job's state as read, not from a log of changes, so a cursor is all a reconnect needs:
 * `cursorOf(Last-Event-ID)` rebuilds it from the id of the last event the client got.
 */
export type GenerationCursor = { seen: "nothing" } | { seen: "waiting" } | { seen: "running"; position: string } | { seen: "ended" };

/** The data of `started` and `progress`: where a running job stands. */
interface GenerationProgressData {
  id: string;
  provider: string;
  state: string;
  step?: string;
  providerStatus?: string;
  progress?: number;
}

/**
 * A short digest of where a running job stands (step, provider status, percent): the id of its
 * `started`/`progress` events. Equal positions are no news; the id holds no character SSE
 * forbids in an id (it is base64url).
 */
export function positionOf(view: Pick<GenerationView, "step" | "providerStatus" | "progress">): string {
  const spelled = JSON.stringify([view.step ?? null, view.providerStatus ?? null, view.progress ?? null]);
  return createHash("sha256").update(spelled).digest("base64url").slice(0, 16);
}

/**
 * The cursor of a new connection from its `Last-Event-ID`: `started:<position>` and
 * `progress:<position>` mean the client saw the job run at that position; `completed` and
 * `failed` that it saw the end. No id, or one this stream never sends, starts afresh.
 */
export function cursorOf(lastEventId: string | undefined): GenerationCursor {
  if (lastEventId === "completed" || lastEventId === "failed") return { seen: "ended" };
  const match = /^(?:started|progress):([A-Za-z0-9_-]{16})$/.exec(lastEventId ?? "");
  return match?.[1] ? { seen: "running", position: match[1] } : { seen: "nothing" };
}

function hasEnded(view: GenerationView): boolean {
  return view.state === "completed" || view.state === "failed";
}

/**
 * The events the job's current view gives a stream at `cursor`, and the cursor after them:
 * - a job a worker has picked up (it has a step) sends `started` once, then `progress` each
 *   time its position changes (changes between two reads show as one);
 * - a job that ended sends `completed` (the whole view, as `GET` answers it) or `failed`
 *   (`{id, provider, code, message}`), preceded by `started` when the stream saw it wait; a
 *   stream opened on a job that already ended gets the final event alone;
 * - a job still waiting sends nothing.
 */
export function generationEventsFor(view: GenerationView, cursor: GenerationCursor): { events: SseEvent[]; cursor: GenerationCursor } {
  if (cursor.seen === "ended") return { events: [], cursor };
  if (hasEnded(view)) {
    const started = cursor.seen === "waiting" ? [startedEvent(view)] : [];
    return { events: [...started, finalEvent(view)], cursor: { seen: "ended" } };
  }
  if (view.step === undefined) return { events: [], cursor: cursor.seen === "nothing" ? { seen: "waiting" } : cursor };
  const position = positionOf(view);
  if (cursor.seen !== "running") return { events: [startedEvent(view)], cursor: { seen: "running", position } };
  if (cursor.position === position) return { events: [], cursor };
  return { events: [{ id: `progress:${position}`, event: "progress", data: progressData(view) }], cursor: { seen: "running", position } };
}

function startedEvent(view: GenerationView): SseEvent {
  return { id: `started:${positionOf(view)}`, event: "started", data: progressData(view) };
}

function progressData(view: GenerationView): GenerationProgressData {
  const { id, provider, state, step, providerStatus, progress } = view;
  return { id, provider, state, step, providerStatus, progress };
}

function finalEvent(view: GenerationView): SseEvent {
  if (view.state === "completed") return { id: "completed", event: "completed", data: view };
  const error = view.error ?? { code: "internal", message: "the job failed" };
  return { id: "failed", event: "failed", data: { id: view.id, provider: view.provider, code: error.code, message: error.message } };
}
