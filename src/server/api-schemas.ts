import { z } from "zod";
import { GenerationRequest } from "../contract/generation-request.js";
import { JOB_ID_RULE } from "../contract/job-id.js";
import { BatchLine, BatchEnqueued } from "../producers/batch-options.js";
import { PROVIDERS } from "../providers/model-registry.js";
import { ApiError } from "./api-error.js";
import { CreateBatchBody, MAX_BATCH_REQUESTS } from "./create-batch-body.js";
import { EnqueueBody } from "./enqueue-body.js";
import { ReadinessCheck } from "./readiness.js";

// The HTTP API's own schemas: its bodies and answers where they are more than a contract type.
// Each is validated (bodies) or documented (answers) from here; api-components.ts names them.

/** A provider family; the HTTP API knows these and refuses any other. */
export const Provider = z.enum(PROVIDERS).describe("a provider family: its jobs run on the queue generate-<provider>");

/**
 * The body of `POST /v1/generations`: the contract's generation request, with the providers this
 * server knows, plus `id`, the optional idempotency key.
 */
export const GenerationRequestBody = GenerationRequest.extend({
  provider: Provider,
  // the description doubles as the 400's wording when the pattern refuses an id
  id: EnqueueBody.shape.id.describe(JOB_ID_RULE),
});

/** One entry of a batch's `requests`: a generation request plus its `custom_id`, as a manifest line. */
export const BatchRequest = BatchLine.extend({ provider: Provider });

/**
 * `POST /v1/batches` as documented: `requests` typed. The server checks each entry on its own
 * (`CreateBatchBody` takes any), so a bad entry is reported in `invalidRequests` by its index
 * and the rest are enqueued, as `kiln bulk` does with a manifest's lines.
 */
export const CreateBatchRequest = CreateBatchBody.extend({
  requests: z.array(BatchRequest).min(1).max(MAX_BATCH_REQUESTS),
});

/** `POST /v1/batches`' answer: what was enqueued, and the entries refused by index. */
export const BatchCreated = BatchEnqueued.extend({
  invalidRequests: z.array(z.object({ index: z.number().int().min(0), message: z.string() })),
});

/** The optional body of a cancel. */
export const CancelRequest = z.strictObject({
  reason: z.string().min(1).max(500).describe("why; the job's error message (default: cancelled by request)").optional(),
});

/** `POST /v1/generations/{id}/cancel`'s answer. */
export const CancelRecorded = z.object({
  id: z.string(),
  state: z.string().describe("the job's state when the cancel was recorded"),
  cancelled: z.literal(true),
});

/** `GET /healthz`. */
export const Health = z.object({ status: z.literal("ok") });

/** `GET /readyz` while ready. */
export const Readiness = z.object({
  status: z.literal("ready"),
  checks: z.record(z.string(), ReadinessCheck).describe("each check by name (redis; workers and archive inside kiln worker)"),
});

/** `GET /readyz` while not ready: an error naming the failing checks, and every check's outcome. */
export const NotReady = ApiError.extend({ checks: Readiness.shape.checks });
