import { createHash } from "node:crypto";
import { InvalidRequestError } from "../contract/invalid-request-error.js";

const SAFE = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * A child job id from the batch id and the line's custom_id. BullMQ ids may not contain ':',
 * so unsafe ids are cleaned and suffixed with a hash of the original: two custom_ids never
 * share a job id, and the same custom_id always gets the same one (re-runs add nothing).
 */
export function childJobId(batchId: string, customId: string): string {
  if (SAFE.test(customId)) return `${batchId}.${customId}`;
  const cleaned = customId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60);
  return `${batchId}.${cleaned}-${createHash("sha256").update(customId).digest("hex").slice(0, 12)}`;
}

/**
 * Batch ids become job ids, key parts and URL path segments: starting with a letter, one is
 * never all digits (BullMQ's own ids) nor `.` or `..` (which no URL can name).
 */
export function checkBatchId(batchId: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/.test(batchId))
    throw new InvalidRequestError(`batch id "${batchId}": letters, digits and -_. only, starting with a letter, at most 100 characters`);
  return batchId;
}

/** The seal child's id: the parent waits for it, and it is released once every line is enqueued. */
export function sealJobId(batchId: string): string {
  return `${batchId}.seal`;
}
