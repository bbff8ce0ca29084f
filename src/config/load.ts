import { z } from "zod";
import { ArchiveConfig, checkS3 } from "./archive.js";
import { configErrorOf } from "./errors.js";
import { HttpConfig } from "./http.js";
import { JobsConfig } from "./jobs.js";
import { LoggingConfig } from "./logging.js";
import { PricesConfig } from "./prices.js";
import { presentVariables, processEnvironment } from "./process-env.js";
import { checkProviders, ProvidersConfig } from "./providers.js";
import { checkPartitions, RedisConfig } from "./redis.js";
import { TenantsConfig } from "./tenants.js";
import { checkWebhooks, WebhooksConfig } from "./webhooks.js";

/**
 * The environment kiln reads, as one schema: every area's variables, their defaults and their
 * checks, so a bad value stops start-up with a message that names the variable. (The `OTEL_*`
 * variables are read apart, by `tracingConfig`.)
 */
export const Environment = z.object({
  ...RedisConfig.shape,
  ...JobsConfig.shape,
  ...ArchiveConfig.shape,
  ...ProvidersConfig.shape,
  ...WebhooksConfig.shape,
  ...HttpConfig.shape,
  ...PricesConfig.shape,
  ...TenantsConfig.shape,
  ...LoggingConfig.shape,
});
export type Environment = z.infer<typeof Environment>;

/**
 * Reads and validates `env` (default the process's environment). Empty strings count as unset.
 * Throws a ConfigError with a line per bad variable: its name and what it may be.
 */
export function loadEnvironment(env: NodeJS.ProcessEnv = processEnvironment()): Environment {
  const parsed = Environment.safeParse(presentVariables(env));
  if (!parsed.success) throw configErrorOf(parsed.error);
  // the variables that need each other, one area after another
  return checkWebhooks(checkPartitions(checkProviders(checkS3(parsed.data))));
}
