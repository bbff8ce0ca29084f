import { z } from "zod";
import { InvalidRequestError } from "../contract/invalid-request-error.js";

/**
 * Where a listed job sits in kiln's listing order: newest enqueue `timestamp` first, then `id`,
 * then the queue's qualified name (`<partition prefix>:<queue>`: an id BullMQ minted can repeat
 * across queues), each descending. All three are fixed when the job is added, so a job keeps its
 * place whatever its state does.
 */
export const ListPosition = z.object({ t: z.number().int().nonnegative(), i: z.string().min(1), q: z.string().min(1) }).strict();
export type ListPosition = z.infer<typeof ListPosition>;

/** A page of a listing: up to `limit` items and, when more may follow, the cursor of the next page. */
export interface ListPage<T> {
  data: T[];
  /** Pass as `cursor` for the next page; null when this page is the last. */
  nextCursor: string | null;
}

/** `limit` when none is given, and the most one page holds. */
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;

/** The opaque cursor of a position: base64url of its JSON. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/** The position a cursor names; an InvalidRequestError naming `cursor` when it names none. */
export function decodeCursor(cursor: string): ListPosition {
  const refused = () => new InvalidRequestError("cursor: not a cursor this listing returned (pass nextCursor as it was given)");
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw refused();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw refused();
  }
  const parsed = ListPosition.safeParse(value);
  if (!parsed.success) throw refused();
  return parsed.data;
}

/** `limit` checked: an integer from 1 to MAX_LIST_LIMIT (a string of digits too, as a query string gives it). */
export function checkLimit(limit: number | string | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  const n = typeof limit === "string" && /^\d{1,4}$/.test(limit) ? Number(limit) : limit;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_LIST_LIMIT)
    throw new InvalidRequestError(`limit: must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(limit)}`);
  return n;
}

/** Negative when `a` comes before `b` in the listing (newer), positive when after, 0 for the same job. */
export function comparePositions(a: ListPosition, b: ListPosition): number {
  if (a.t !== b.t) return b.t - a.t;
  if (a.i !== b.i) return a.i < b.i ? 1 : -1;
  return a.q === b.q ? 0 : a.q < b.q ? 1 : -1;
}
