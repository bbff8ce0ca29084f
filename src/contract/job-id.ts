import { z } from "zod";

/** The rule of a producer's job id, as every refusal states it. */
export const JOB_ID_RULE = "1-256 characters, no ':', not only digits, not '.' or '..'";

/**
 * True for the ids no URL can name: a client resolves `/v1/generations/..` (encoded or not,
 * since `encodeURIComponent` leaves dots alone) to `/v1/`, so the job's Location would lead
 * elsewhere. BullMQ-minted ids (digits) are never such ids.
 */
export function isDotSegment(id: string): boolean {
  return id === "." || id === "..";
}

/**
 * A job id a producer chooses (the idempotency key). BullMQ refuses ids containing ':' and
 * mints all-digit ids itself; the HTTP body (`EnqueueBody`) and `GenerationClient` both check
 * this one schema, so they cannot drift into accepting a bad id.
 */
export const JobId = z.string().regex(/^(?!\d+$)(?!\.\.?$)[^:]{1,256}$/, { message: `must be ${JOB_ID_RULE}` });
