import { z } from "zod";
import { Completion } from "./completion.js";
import { Money, Usage } from "./usage.js";

/** Why a generation failed. `code` is stable and machine-readable; `message` is for people. */
export const GenerationError = z.object({
  code: z.enum([
    "invalid_request",
    "authentication",
    "model_not_available",
    "task_failed",
    "result_expired",
    "timed_out",
    "archive_failed",
    "cancelled",
    "submit_unknown",
    "budget_exhausted",
    "bad_response",
    "internal",
  ]),
  message: z.string(),
  retryable: z.boolean(),
  /** The provider's own code, when it gave one. */
  providerCode: z.string().optional(),
});
export type GenerationError = z.infer<typeof GenerationError>;

/**
 * One archived output. `url` is `s3://bucket/key` or `file:///…`. `href` and `expiresAt` are
 * added to answers and webhook deliveries (never to the stored result) when
 * `KILN_OUTPUT_URLS=presigned`: see `OutputLink`.
 */
export const ArchivedOutput = z.object({
  index: z.number().int().min(0),
  key: z.string(),
  url: z.string(),
  contentType: z.string(),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sourceUrl: z.string().optional(),
  /** When the provider's URL stops (or stopped) working, if known. */
  sourceExpiresAt: z.string().optional(),
  role: z.string().optional(),
  /** A presigned HTTPS GET of the archived bytes, minted for this answer or delivery attempt. */
  href: z
    .string()
    .optional()
    .describe("with KILN_OUTPUT_URLS=presigned: a presigned HTTPS GET of the archived bytes, minted for this answer"),
  /** ISO-8601 instant `href` stops working. */
  expiresAt: z.string().optional().describe("with KILN_OUTPUT_URLS=presigned: when `href` stops working (ISO 8601)"),
});
export type ArchivedOutput = z.infer<typeof ArchivedOutput>;

/** A model tried before the one that served, and why kiln moved on from it. */
export const FallbackAttempt = z.object({
  provider: z.string(),
  model: z.string(),
  /** The trigger: `modelNotAvailable`, `capacity`, `failedSubmits`, `maxWait`, `deadline`, or `notConfigured` (no worker holds that provider's key). */
  reason: z.string(),
  /** What the provider answered, or how long the job waited. */
  message: z.string(),
  /** When kiln moved on (ISO 8601). */
  at: z.string(),
});
export type FallbackAttempt = z.infer<typeof FallbackAttempt>;

/** The job's return value and the webhook's `data`. */
export const GenerationResult = z.object({
  id: z.string(),
  status: z.enum(["completed", "failed"]),
  provider: z.string(),
  model: z.string(),
  providerTaskId: z.string().optional(),
  outputs: z.array(ArchivedOutput),
  error: GenerationError.optional(),
  /** Text models: the answer, its reasoning and token usage, beside the archived files. */
  completion: Completion.optional(),
  /** What the provider's task used, once it finished (see `Usage` for where the figures come from). */
  usage: Usage.optional(),
  /** `usage` at the operator's prices (KILN_PRICES), when the price table covers the model and every priced figure is known. */
  cost: Money.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** The request's tenant (`default` when it named none). */
  tenant: z.string().optional().describe("the request's tenant (`default` when it named none)"),
  /** The batch this job belongs to, and its manifest line's custom_id. */
  batch: z.object({ id: z.string(), custom_id: z.string() }).optional(),
  /** With `fallbacks`: the provider and model that produced this result (or the last one tried, when it failed). */
  servedBy: z
    .object({ provider: z.string(), model: z.string() })
    .optional()
    .describe("with fallbacks: the provider and model that produced this result, or the last one tried"),
  /** With `fallbacks`: the models tried before `servedBy`, in order, and why each was left. */
  attempts: z.array(FallbackAttempt).optional().describe("with fallbacks: the models tried before servedBy, and why each was left"),
  /**
   * The job whose generation this one reused (an identical request, `reuse`): its outputs are
   * copies of that job's, and its usage and cost are zero.
   */
  reusedFrom: z.string().optional().describe("the job whose identical generation this one reused: outputs copied, usage and cost zero"),
  /** ISO-8601 instants of each step reached. */
  timings: z.object({
    enqueuedAt: z.string(),
    startedAt: z.string().optional(),
    submittedAt: z.string().optional(),
    providerCompletedAt: z.string().optional(),
    archivedAt: z.string().optional(),
    finishedAt: z.string(),
  }),
});
export type GenerationResult = z.infer<typeof GenerationResult>;
