import { z } from "zod";
import type { SseEvent } from "./sse-stream.js";

/** What the batch events read of a batch's status (`GET /v1/batches/{id}`); the rest goes as it is. */
const BatchProgressFields = z.object({
  state: z.string(),
  total: z.number(),
  counts: z.object({ completed: z.number(), failed: z.number(), pending: z.number() }),
  summary: z.unknown().optional(),
});

/** The `data` of a batch's `progress` event. */
interface BatchCounts {
  total: number;
  completed: number;
  failed: number;
  pending: number;
}

/**
 * Where a batch's event stream stands: the counts last sent (as their event id) and whether the
 * final event went out. Rebuilt from `Last-Event-ID` on a reconnect, so no event is sent twice.
 */
export interface BatchCursor {
  lastId?: string;
  ended: boolean;
}

/** The cursor of a new connection: `Last-Event-ID` as the batch's events spell it, anything else is a fresh start. */
export function batchCursorOf(lastEventId: string | undefined): BatchCursor {
  if (lastEventId === "completed") return { ended: true };
  if (lastEventId && /^progress:\d+\.\d+\.\d+\.\d+$/.test(lastEventId)) return { lastId: lastEventId, ended: false };
  return { ended: false };
}

/** A batch has ended once its parent job completed: the status then carries the summary. */
export function batchEnded(status: unknown): boolean {
  const parsed = BatchProgressFields.safeParse(status);
  return parsed.success && (parsed.data.state === "completed" || parsed.data.summary !== undefined);
}

/**
 * The events a batch status gives a stream at `cursor`: `progress` when the counts differ from
 * the last ones sent (its id spells them, `progress:<total>.<completed>.<failed>.<pending>`), and
 * `completed` with the summary once the batch has ended. A status that does not read as a batch
 * gives nothing.
 */
export function batchEventsFor(status: unknown, cursor: BatchCursor): { events: SseEvent[]; cursor: BatchCursor } {
  const parsed = BatchProgressFields.safeParse(status);
  if (cursor.ended || !parsed.success) return { events: [], cursor };
  const { total, counts, summary } = parsed.data;
  const events: SseEvent[] = [];
  const data: BatchCounts = { total, ...counts };
  const id = `progress:${total}.${counts.completed}.${counts.failed}.${counts.pending}`;
  if (id !== cursor.lastId) events.push({ id, event: "progress", data });
  if (!batchEnded(status)) return { events, cursor: { lastId: id, ended: false } };
  events.push({ id: "completed", event: "completed", data: { ...data, summary } });
  return { events, cursor: { lastId: id, ended: true } };
}
