export { GenerationClient, type GenerationClientOptions, type GenerationStatus } from "./generation-client.js";
export { InvalidRequestError, isInvalidRequestError } from "../contract/invalid-request-error.js";
export { validateRequest } from "./validate-request.js";
export { GenerationRequest, WebhookEvent, describeIssues } from "../contract/generation-request.js";
export { GenerationResult, ArchivedOutput, GenerationError } from "../contract/generation-result.js";
export { DEFAULT_PREFIX, GENERATE_JOB, WEBHOOKS_QUEUE, generateQueueName } from "../contract/queue-names.js";
