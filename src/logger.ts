import { pino, type DestinationStream, type Logger } from "pino";
import { REDACTED, type SecretScrubber } from "./util/secret-scrubber.js";

/** Environment variables that hold credentials, in case a caller logs the environment or the config. */
const SECRET_VARIABLES = [
  "TOKENHUB_API_KEY",
  "GATEWAY_API_KEY",
  "WCODE_API_KEY",
  "KILN_WEBHOOK_SECRET",
  "KILN_WEBHOOK_SECRETS",
  "KILN_WEBHOOK_SIGNING_KEYS",
  "KILN_TENANT_WEBHOOK_SECRETS",
  "KILN_API_TOKEN",
  "KILN_READ_TOKEN",
  "KILN_ADMIN_TOKEN",
  "REDIS_PASSWORD",
  "S3_SECRET_ACCESS_KEY",
  "S3_ACCESS_KEY_ID",
];

/** Field names that hold credentials wherever they appear. */
const SECRET_FIELDS = [
  "apiKey",
  "secret",
  // a request's and a delivery's `webhook.secrets`
  "secrets",
  "webhookSecret",
  "secretAccessKey",
  "sessionToken",
  "password",
  "authorization",
  "Authorization",
  "x-api-key",
  // a presigned output URL (KILN_OUTPUT_URLS) lets anyone holding it download the output
  "href",
  ...SECRET_VARIABLES,
];

const SECRETS = new Set(SECRET_FIELDS);
const CENSOR = REDACTED;

/** True for a field name that holds a credential wherever it appears (`secret`, `apiKey`, `authorization`, ...). */
export function isCredentialField(name: string): boolean {
  return SECRETS.has(name);
}

/** Deeper than any object kiln logs; it also stops a walk around a cycle. */
const MAX_DEPTH = 10;

/**
 * `record` with every field named like a credential blanked, at any depth: credentials must never
 * reach logs, whatever object a caller happens to log (a request, a config, an error's fields, a
 * job's data). Objects without one are returned as they are, so a usual log line costs a short
 * walk and no copy (pino's path-based redaction walked ~90 wildcard paths on every line). An
 * Error holding one is logged as a copy of itself with those fields blanked.
 */
export function redactSecrets<T>(record: T): T {
  return scrub(record, 0) as T;
}

function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const scrubbed = scrub(value[i], depth + 1);
      if (scrubbed !== value[i]) (copy ??= [...(value as unknown[])])[i] = scrubbed;
    }
    return copy ?? value;
  }
  // plain records and errors only: class instances (a socket, a stream, a response) are large graphs
  // no credential of kiln's lives in, and what JSON.stringify writes for Date, URL or Buffer is not a field walk
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && !(value instanceof Error)) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  // for…in like pino's error serializer, so an error's own enumerable fields are walked too
  for (const key in record) {
    const field = record[key];
    const scrubbed = SECRETS.has(key) ? CENSOR : scrub(field, depth + 1);
    if (scrubbed !== field) (copy ??= fieldsOf(value))[key] = scrubbed;
  }
  return copy ?? value;
}

/** A copy to blank fields in; an Error's copy keeps its class, message, stack and cause for pino's serializer. */
function fieldsOf(value: object): Record<string, unknown> {
  if (!(value instanceof Error)) return { ...value };
  const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
  Object.assign(copy, { message: value.message, stack: value.stack, ...("cause" in value ? { cause: value.cause } : {}) });
  for (const key in value) copy[key] = (value as unknown as Record<string, unknown>)[key];
  return copy;
}

export interface LoggerOptions {
  /** pino level: the commands pass `LOG_LEVEL` from the environment they loaded (config/). */
  level: string;
  /** `name` field of every record. @defaultValue "kiln" */
  name?: string;
  /** Where JSON lines go; tests pass a stream they can read back. @defaultValue stdout */
  destination?: DestinationStream;
  /**
   * The configured secrets (`secretScrubberOf(env)`), replaced wherever they appear in a line:
   * in the message, an error's message or stack, a provider's text quoted in any field.
   * @defaultValue none: only the fields named like credentials are blanked
   */
  secrets?: SecretScrubber;
}

/** The process-wide logger: JSON lines at the caller's level, secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  // the finished line is scrubbed, so no path into it (a child's bindings, an error's cause) is missed
  const lines = options.secrets?.empty === false ? options.secrets.forJson() : undefined;
  const settings = {
    name: options.name ?? "kiln",
    level: options.level,
    formatters: { log: redactSecrets },
    ...(lines ? { hooks: { streamWrite: (line: string) => lines.scrub(line) } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

export type { Logger };
