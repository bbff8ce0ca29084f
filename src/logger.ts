import { pino, type DestinationStream, type Logger } from "pino";

/** Environment variables that hold credentials, in case a caller logs the environment or the config. */
const SECRET_VARIABLES = [
  "TOKENHUB_API_KEY",
  "GATEWAY_API_KEY",
  "WCODE_API_KEY",
  "KILN_WEBHOOK_SECRET",
  "KILN_API_TOKEN",
  "KILN_READ_TOKEN",
  "S3_SECRET_ACCESS_KEY",
  "S3_ACCESS_KEY_ID",
];

/** Field names that hold credentials wherever they appear. */
const SECRET_FIELDS = [
  "apiKey",
  "secret",
  "webhookSecret",
  "secretAccessKey",
  "sessionToken",
  "password",
  "authorization",
  "Authorization",
  "x-api-key",
  ...SECRET_VARIABLES,
];

/**
 * Paths pino blanks out in every log record: credentials must never reach logs, whatever object
 * a caller happens to log (a request, a config, an error's cause, a job's data). pino's paths
 * have no recursive wildcard, so each field is listed at the depths where kiln's objects put it:
 * the top, one level down (`config.apiKey`, `headers.authorization`), two (`job.webhook.secret`),
 * three (`job.data.webhook.secret`) and four (`err.cause.request.headers.authorization`).
 */
export const REDACTED_PATHS: readonly string[] = SECRET_FIELDS.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
  const join = (prefix: string) => (key.startsWith("[") ? `${prefix}${key}` : `${prefix}.${key}`);
  return [key.startsWith("[") ? key : field, join("*"), join("*.*"), join("*.*.*"), join("*.*.*.*")];
});

export interface LoggerOptions {
  /** pino level. @defaultValue `LOG_LEVEL` from the environment, else "info" */
  level?: string;
  /** `name` field of every record. @defaultValue "kiln" */
  name?: string;
  /** Where JSON lines go; tests pass a stream they can read back. @defaultValue stdout */
  destination?: DestinationStream;
}

/** The process-wide logger: JSON lines, level from `LOG_LEVEL` (default info), secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    name: options.name ?? "kiln",
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

export type { Logger };
