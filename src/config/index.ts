// kiln's configuration: every environment variable is read here, one schema per area, merged
// into `Environment` by `loadEnvironment`. Nothing else in src/ reads `process.env` (lint checks).
export { demoEnvironment, demoRedisOf } from "./demo.js";
export { ConfigError, configError, isConfigError } from "./errors.js";
export { Environment, loadEnvironment } from "./load.js";
export { pricesOf } from "./prices.js";
export { tenantBudgetsOf, tenantSharesOf, tenantTokensOf, tenantWebhookSecretsOf } from "./tenants.js";
export { processEnvironment } from "./process-env.js";
export { modelInflightCaps } from "./providers.js";
export { queueLocationOf } from "./redis.js";
export { configuredSecrets, secretScrubberOf } from "./secrets.js";
export { tracingConfig } from "./tracing.js";
export { webhookSecretsOf, webhookSigningKeysOf } from "./webhooks.js";
export { Duration } from "./values.js";
export { configVariableNames, VARIABLE_PATTERNS } from "./variables.js";
