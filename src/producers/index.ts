export { GenerationClient, InvalidRequestError, validateRequest, type GenerationClientOptions, type GenerationStatus } from "./generation-client.js";
export { GenerationRequest, WebhookEvent, describeIssues } from "./generation-request.js";
export { GenerationResult, ArchivedOutput, GenerationError } from "./generation-result.js";
export { DEFAULT_PREFIX, GENERATE_JOB, WEBHOOKS_QUEUE, generateQueueName } from "./queue-names.js";
