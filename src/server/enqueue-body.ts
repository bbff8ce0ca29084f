import { z } from "zod";
import { JobId } from "../contract/job-id.js";

/**
 * The body of `POST /v1/generations`: a generation request (the queue contract's job data) plus
 * an optional `id`, the idempotency key that becomes the job id (`JobId`, which the client
 * checks again).
 */
export const EnqueueBody = z
  .object({
    id: JobId.optional(),
  })
  .catchall(z.unknown());
export type EnqueueBody = z.infer<typeof EnqueueBody>;
