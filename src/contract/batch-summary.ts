import { z } from "zod";
import { BatchTotals, Money, Usage } from "./usage.js";
import { ArchivePrefix } from "./archive-prefix.js";
import { Tenant } from "./tenant.js";
import { WebhookUrl } from "./webhook-url.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../util/json-depth.js";

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
  /** The jobs' usage and cost, summed exactly over results.jsonl. */
  totals: BatchTotals.optional(),
  /** Present when the batch's budget stopped it: some jobs ended `budget_exhausted` without being submitted. */
  reason: z.literal("budget_exhausted").optional(),
  /** The budget, and what the ledger charged against it (actual costs of every job that ran). */
  budget: z.object({ limit: z.string(), currency: z.string(), spent: z.string() }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** The batch's tenant (`default` when it named none). */
  tenant: z.string().optional(),
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
  usage: Usage.optional(),
  cost: Money.optional(),
});
export type BatchResultLine = z.infer<typeof BatchResultLine>;

/** The batch parent job's data, written by the producer. */
export const BatchJobData = z.object({
  /** Part of the results' key and of job ids: the producer's batch id rule (`checkBatchId`), checked again on receipt. */
  batchId: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, { message: "letters, digits and -_. only, starting with a letter, at most 100 characters" }),
  /** Set when every line has been read and enqueued: the counts below are final. */
  sealed: z.boolean(),
  total: z.number().int().min(0),
  invalid: z.number().int().min(0),
  /** Checked again on receipt: the batch worker writes results.jsonl under it. */
  archivePrefix: ArchivePrefix,
  webhook: z
    .object({
      url: WebhookUrl,
      secret: z.string().optional(),
    })
    .optional(),
  /**
   * The batch's budget (`--budget`, the `budget` batch option) in the price table's currency, when
   * it has one; the ledger (`<prefix>:batches:<id>:budget`) is what the workers charge.
   */
  budget: z.object({ amount: z.string(), currency: z.string() }).optional(),
  /** The batch's tenant, which its jobs take; absent: the default tenant. */
  tenant: Tenant.optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((value) => !nestsDeeperThan(value, MAX_JSON_DEPTH), { message: `nested more than ${MAX_JSON_DEPTH} levels deep` })
    .optional(),
});
export type BatchJobData = z.infer<typeof BatchJobData>;
