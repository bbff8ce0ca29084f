import { z } from "zod";
import { ArchivePrefix } from "../contract/archive-prefix.js";
import { ReuseOption, ShallowJsonObject } from "../contract/generation-request.js";
import { Tenant } from "../contract/tenant.js";
import { WebhookUrl } from "../contract/webhook-url.js";

/** Lines one request may carry: a bigger batch is a manifest for `kiln bulk` (the body limit is 1 MiB anyway). */
export const MAX_BATCH_REQUESTS = 10_000;

/**
 * The body of `POST /v1/batches`: a manifest's lines as an array, and the batch options of
 * `kiln bulk`. Each request is checked line by line, as a manifest's lines are: a bad one is
 * reported by its index and the rest go on.
 */
export const CreateBatchBody = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, { message: "letters, digits and -_. only, starting with a letter, at most 100 characters" }),
  requests: z.array(z.unknown()).min(1).max(MAX_BATCH_REQUESTS),
  webhook: z.strictObject({ url: WebhookUrl }).optional(),
  /** A cap on the batch's cost in the price table's currency, e.g. "25.00" (see docs/batches.md#budget). */
  budget: z.union([z.string(), z.number()]).optional(),
  archive_prefix: ArchivePrefix.optional(),
  metadata: ShallowJsonObject.optional(),
  /** The batch's tenant, which every request takes (a request naming another one is refused). Absent: `default`. */
  tenant: Tenant.optional(),
  /** `reuse` for every request that has none of its own (docs/reuse.md). */
  reuse: ReuseOption.optional(),
});
export type CreateBatchBody = z.infer<typeof CreateBatchBody>;
