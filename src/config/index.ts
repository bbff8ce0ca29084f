// kiln's configuration: every environment variable is read here, one schema per area, merged
// into `Environment` by `loadEnvironment`. Nothing else in src/ reads `process.env` (lint checks).
export { ArchiveConfig } from "./archive.js";
export { demoEnvironment, demoRedisOf } from "./demo.js";
export { ConfigError, configError, isConfigError } from "./errors.js";
export { HttpConfig } from "./http.js";
export { JobsConfig } from "./jobs.js";
export { Environment, loadEnvironment } from "./load.js";
export { LoggingConfig } from "./logging.js";
export { PricesConfig, pricesOf } from "./prices.js";
export { processEnvironment } from "./process-env.js";
export { modelInflightCaps, ProvidersConfig } from "./providers.js";
export { queueLocationOf, RedisConfig } from "./redis.js";
export { configuredSecrets, LibraryCredentials, secretScrubberOf } from "./secrets.js";
export { tracingConfig, TracingEnvironment } from "./tracing.js";
export { ByteSize, Duration } from "./values.js";
export { WebhooksConfig } from "./webhooks.js";
