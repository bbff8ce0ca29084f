export { KilnHttpServer, type KilnHttpServerOptions } from "./http-server.js";
export { startHttpServer, type RunningHttpServer, type StartHttpServerOptions } from "./start-http-server.js";
export { KilnMetrics, type KilnMetricsOptions } from "./kiln-metrics.js";
export { ProviderLabels } from "./provider-labels.js";
export type { BatchReader } from "./batch-reader.js";
export { ApiError, ApiErrorCode } from "./api-error.js";
export { GenerationView } from "./generation-view.js";
export type { WorkerSet, WebhookOutcome } from "./worker-metrics.js";
export { exposedMetricNames, unknownMetricNames } from "./metric-names.js";
