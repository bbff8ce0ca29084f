import { z } from "zod";
import type { PriceTable } from "../billing/price-table.js";
import { ArchivePrefix } from "../contract/archive-prefix.js";
import { GenerationRequest, ReuseOption, ShallowJsonObject } from "../contract/generation-request.js";
import { Tenant } from "../contract/tenant.js";
import { WebhookUrl } from "../contract/webhook-url.js";

/** A manifest line: a generation request plus its `custom_id` (as in OpenAI's Batch API). */
export const BatchLine = GenerationRequest.omit({ batch: true }).extend({ custom_id: z.string().min(1).max(200) });
export type BatchLine = z.infer<typeof BatchLine>;

export interface BatchOptions {
  batchId: string;
  /** Receives `batch.completed` with the counts and the results file. */
  webhook?: { url: string };
  /** Prefix of the results file's key in the archive store. @defaultValue "kiln" */
  archivePrefix?: string;
  metadata?: Record<string, unknown>;
  /**
   * The batch's tenant: every job of the batch takes it, and a line naming another tenant is
   * refused. @defaultValue the default tenant
   */
  tenant?: string;
  /** `reuse` of every line that has none of its own (docs/reuse.md). @defaultValue none: no reuse */
  reuse?: ReuseOption;
  /** Jobs per addBulk call. @defaultValue 500 */
  chunkSize?: number;
  /** Called for each line refused, with its number and why; the rest goes on. */
  onInvalid?: (lineNumber: number, message: string) => void;
  /** Called after each chunk is enqueued. */
  onProgress?: (progress: { lines: number; accepted: number; invalid: number }) => void;
  /**
   * A cap on what the batch may cost, in the price table's currency (`"25.00"`): once spent plus
   * reserved reaches it, the jobs not yet submitted end `budget_exhausted`. Needs `prices`;
   * lines whose model has no price, or whose cost cannot be estimated, are refused.
   * @defaultValue none: the batch runs whatever it costs
   */
  budget?: string | number;
  /** The operator's price table (KILN_PRICES), required with `budget`. */
  prices?: PriceTable;
  /** `KILN_MAX_JOB_BYTES`: a line bigger than this as JSON is refused. @defaultValue 1048576 (1 MiB) */
  maxJobBytes?: number;
}

/**
 * The batch's own options, checked by the rules of a generation request's fields (`archive.prefix`,
 * `webhook.url`, `metadata`): whoever calls (HTTP, `kiln bulk`, a TypeScript producer), a bad one
 * refuses the batch before anything is enqueued. A batch's webhook signs with KILN_WEBHOOK_SECRET.
 */
export const BatchSettings = z.object({
  archivePrefix: ArchivePrefix.optional(),
  webhook: z.object({ url: WebhookUrl }).optional(),
  metadata: ShallowJsonObject.optional(),
  tenant: Tenant.optional(),
  reuse: ReuseOption.optional(),
});

const Count = z.number().int().min(0);

/** What enqueueing a batch did: `enqueueBatch`'s answer, and `POST /v1/batches`' with the invalid lines. */
export const BatchEnqueued = z.object({
  batchId: z.string(),
  /** Valid lines, i.e. the batch's jobs (those already enqueued by an earlier run included). */
  total: Count,
  invalid: Count,
  /** Jobs added by this run; the others existed already. */
  added: Count,
  /** The batch had already finished: nothing was added. */
  alreadyCompleted: z.boolean(),
  /** Every line had already been enqueued (by an earlier run): nothing was added. */
  alreadySealed: z.boolean(),
});
export type BatchEnqueued = z.infer<typeof BatchEnqueued>;
