import { z } from "zod";

/**
 * The body of `POST /v1/generations`: a generation request (the queue contract's job data) plus
 * an optional `id`, the idempotency key that becomes the job id. The id rule mirrors
 * GenerationClient's (BullMQ refuses `:` and mints all-digit ids itself); the client checks it
 * again, so the two cannot drift into accepting a bad id.
 */
export const EnqueueBody = z
  .object({
    id: z
      .string()
      .regex(/^(?!\d+$)[^:]{1,256}$/, { message: "must be 1-256 characters, no ':', not only digits" })
      .optional(),
  })
  .catchall(z.unknown());
export type EnqueueBody = z.infer<typeof EnqueueBody>;
