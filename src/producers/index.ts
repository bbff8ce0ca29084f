// The package's entry (package.json `exports["."]`): the producers' client and the contract's
// types. It must stay free of the worker, the HTTP server and S3 (`producers-entry-stays-light` in
// .dependency-cruiser.mjs; test/integration/package.e2e.test.ts checks what importing it loads).
export { GenerationClient, type GenerationClientOptions, type GenerationStatus } from "./generation-client.js";
export type { BatchOptions, BatchEnqueued, BatchLine } from "./batch-options.js";
export type { BatchStatus } from "../batches/batch-status.js";
export type { RedisConnection, RedisTarget } from "../queue/redis.js";
export type { ReportedProgress } from "../queue/kiln-job.js";
export { InvalidRequestError, isInvalidRequestError } from "../contract/invalid-request-error.js";
export { IdConflictError, isIdConflictError } from "../contract/id-conflict-error.js";
export { RedisFullError, isRedisFullError } from "../contract/redis-full-error.js";
export { validateRequest } from "./validate-request.js";
export { GenerationRequest, WebhookEvent, describeIssues } from "../contract/generation-request.js";
export { GenerationResult, ArchivedOutput, GenerationError } from "../contract/generation-result.js";
export { GenerationProgress } from "../contract/generation-progress.js";
export { BatchSummary } from "../contract/batch-summary.js";
export { Usage, Money } from "../contract/usage.js";
// what a webhook receiver parses: the body (discriminated on `type`) and its event types
export { WebhookPayload, EventType } from "../contract/webhook-message.js";
export { DEFAULT_PREFIX, GENERATE_JOB, WEBHOOKS_QUEUE, generateQueueName } from "../contract/queue-names.js";
