import type { Environment } from "./config.js";
import { SecretScrubber } from "./util/secret-scrubber.js";

/**
 * Variables read by libraries rather than by kiln's config, that hold credentials: the AWS SDK's
 * default chain (used when `S3_ACCESS_KEY_ID` is unset) and the OTLP exporter's headers (an API
 * key of a hosted tracing backend).
 */
const LIBRARY_SECRET_VARIABLES = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;
const OTLP_HEADER_VARIABLES = ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] as const;

/**
 * Every credential of this process's configuration: provider API keys, the API, read and admin
 * tokens, the webhook signing secret, S3 keys, the Redis password (`REDIS_PASSWORD` or the one in
 * `REDIS_URL`), and the library-read ones above. What `secretScrubberOf` scrubs.
 */
export function configuredSecrets(env: Environment, rawEnv: NodeJS.ProcessEnv = process.env): string[] {
  return [
    env.TOKENHUB_API_KEY,
    env.GATEWAY_API_KEY,
    env.WCODE_API_KEY,
    env.KILN_API_TOKEN,
    env.KILN_READ_TOKEN,
    env.KILN_ADMIN_TOKEN,
    env.KILN_WEBHOOK_SECRET,
    env.S3_ACCESS_KEY_ID,
    env.S3_SECRET_ACCESS_KEY,
    env.REDIS_PASSWORD,
    passwordOf(env.REDIS_URL),
    ...LIBRARY_SECRET_VARIABLES.map((name) => rawEnv[name]),
    ...OTLP_HEADER_VARIABLES.flatMap((name) => headerValues(rawEnv[name])),
  ].filter((s): s is string => s !== undefined && s !== "");
}

/** The scrubber of this process's configured secrets, built once at start-up. */
export function secretScrubberOf(env: Environment, rawEnv: NodeJS.ProcessEnv = process.env): SecretScrubber {
  return new SecretScrubber(configuredSecrets(env, rawEnv));
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decoded(password) : undefined;
  } catch {
    return undefined;
  }
}

/** `key=value,key2=value2` (the OTLP headers format): the values. */
function headerValues(spec: string | undefined): string[] {
  if (!spec) return [];
  return spec.split(",").flatMap((pair) => {
    const eq = pair.indexOf("=");
    return eq < 0 ? [] : [decoded(pair.slice(eq + 1).trim())];
  });
}

/** Percent-decoded when it can be; a malformed escape leaves the text as written. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
