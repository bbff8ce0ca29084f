import type { z } from "zod";
import { BatchStatus } from "../batches/batch-status.js";
import { BudgetState } from "../billing/budget-ledger.js";
import { ArchivePrefix } from "../contract/archive-prefix.js";
import { BatchSummary } from "../contract/batch-summary.js";
import { Completion } from "../contract/completion.js";
import { WebhookEvent } from "../contract/generation-request.js";
import { ArchivedOutput, GenerationError, GenerationResult } from "../contract/generation-result.js";
import { Money, Usage } from "../contract/usage.js";
import { WebhookUrl } from "../contract/webhook-url.js";
import { ApiError, ApiErrorCode } from "./api-error.js";
import {
  BatchCreated,
  BatchRequest,
  CancelRecorded,
  CancelRequest,
  CreateBatchRequest,
  GenerationRequestBody,
  NotReady,
  Provider,
  Readiness,
} from "./api-schemas.js";
import { GenerationView } from "./generation-view.js";

/**
 * The OpenAPI document's `components.schemas`: one named schema per concept. Wherever a route's
 * schema holds one of these zod schemas (the same instance), the document shows a `$ref` to it,
 * so a generated client has one type per concept (`Provider`, `WebhookUrl`, ...) whichever
 * route it comes from. A schema reaches the document only when some route uses it.
 */
export const API_COMPONENTS: Readonly<Record<string, z.ZodType>> = {
  Provider,
  WebhookUrl,
  WebhookEvent,
  ArchivePrefix,
  GenerationRequest: GenerationRequestBody,
  BatchRequest,
  CreateBatchRequest,
  BatchCreated,
  Batch: BatchStatus,
  BatchSummary,
  BudgetState,
  Generation: GenerationView,
  GenerationResult,
  GenerationError,
  ArchivedOutput,
  Completion,
  Usage,
  Money,
  CancelRequest,
  CancelRecorded,
  ApiError,
  ApiErrorCode,
  Readiness,
  NotReady,
};
