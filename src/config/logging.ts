import { z } from "zod";
import { processEnvironment } from "./process-env.js";

/** Logging: JSON lines on stdout at this level. */
export const LoggingConfig = z.object({
  /** pino's level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `info`. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type LoggingConfig = z.infer<typeof LoggingConfig>;

/**
 * The level of a logger made without one (`createLogger()`): `LOG_LEVEL` as set, else `info`.
 * Unchecked, as before: a command checks `LOG_LEVEL` with the rest when it loads the environment.
 */
export function defaultLogLevel(env: NodeJS.ProcessEnv = processEnvironment()): string {
  return env.LOG_LEVEL ?? "info";
}
