import { z } from "zod";

/** What a finished batch reports: the `data` of `batch.completed` and the batch job's return value. */
export const BatchSummary = z.object({
  id: z.string(),
  status: z.literal("completed"),
  counts: z.object({
    /** Lines that became generation jobs. */
    total: z.number().int().min(0),
    completed: z.number().int().min(0),
    failed: z.number().int().min(0),
    /** Lines refused at enqueue (they are not jobs). */
    invalid: z.number().int().min(0),
  }),
  /** `<prefix>/batches/<id>/results.jsonl` in the archive store: one line per job. */
  results: z.object({ key: z.string(), url: z.string() }),
  metadata: z.record(z.string(), z.unknown()).optional(),
  finishedAt: z.string(),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

/** One line of results.jsonl. */
export const BatchResultLine = z.object({
  custom_id: z.string(),
  id: z.string(),
  status: z.enum(["completed", "failed"]),
  outputs: z.array(z.unknown()),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type BatchResultLine = z.infer<typeof BatchResultLine>;

/** The batch parent job's data, written by the producer. */
export const BatchJobData = z.object({
  batchId: z.string(),
  /** Set when every line has been read and enqueued: the counts below are final. */
  sealed: z.boolean(),
  total: z.number().int().min(0),
  invalid: z.number().int().min(0),
  archivePrefix: z.string(),
  webhook: z.object({ url: z.string().url(), secret: z.string().optional() }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type BatchJobData = z.infer<typeof BatchJobData>;
