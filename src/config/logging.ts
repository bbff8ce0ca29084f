import { z } from "zod";

/** Logging: JSON lines on stdout at this level. */
export const LoggingConfig = z.object({
  /** pino's level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `info`. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type LoggingConfig = z.infer<typeof LoggingConfig>;
