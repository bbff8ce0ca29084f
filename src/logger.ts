import { pino, type Logger } from "pino";

/**
 * Paths pino blanks out wherever they appear in a log record: credentials must never reach
 * logs, whatever object a caller happens to log (a request, a config, an error's cause).
 */
export const REDACTED_PATHS = [
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "webhookSecret",
  "*.webhookSecret",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "secretAccessKey",
  "*.secretAccessKey",
  "*.*.secretAccessKey",
];

/** The process-wide logger: JSON lines on stdout, level from `LOG_LEVEL` (default info). */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? "kiln",
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  });
}

export type { Logger };
