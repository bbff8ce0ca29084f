import { z } from "zod";
import { tenantTokensOf, tenantWebhookSecretsOf } from "./tenants.js";
import { SecretScrubber } from "../util/secret-scrubber.js";
import type { Environment } from "./load.js";
import { presentVariables, processEnvironment } from "./process-env.js";

/**
 * Variables read by libraries rather than by kiln, that hold credentials: the AWS SDK's default
 * chain (used when `S3_ACCESS_KEY_ID` is unset) and the OTLP exporter's headers (an API key of a
 * hosted tracing backend). kiln reads them only to keep them out of its logs.
 */
const LibraryCredentials = z.object({
  /** The AWS SDK's secret key, read by its default chain. */
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  /** The AWS SDK's session token, read by its default chain. */
  AWS_SESSION_TOKEN: z.string().optional(),
  /** The OTLP exporter's headers, `key=value,key2=value2`: their values. */
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  /** The same for traces alone. */
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
});

/**
 * Every credential of this process's configuration: provider API keys, the API, read and admin
 * tokens, the webhook signing secrets and keys, S3 keys, the Redis password (`REDIS_PASSWORD` or the one in
 * `REDIS_URL`), and the library-read ones of `rawEnv` (default the process's environment). What
 * `secretScrubberOf` scrubs.
 */
export function configuredSecrets(env: Environment, rawEnv: NodeJS.ProcessEnv = processEnvironment()): string[] {
  const library = LibraryCredentials.parse(presentVariables(rawEnv, (name) => name in LibraryCredentials.shape));
  return [
    env.TOKENHUB_API_KEY,
    env.GATEWAY_API_KEY,
    env.WCODE_API_KEY,
    env.KILN_API_TOKEN,
    env.KILN_READ_TOKEN,
    env.KILN_ADMIN_TOKEN,
    env.KILN_WEBHOOK_SECRET,
    ...(env.KILN_WEBHOOK_SECRETS ?? []),
    ...(env.KILN_WEBHOOK_SIGNING_KEYS ?? []),
    ...tenantTokensOf(env).keys(),
    ...[...tenantWebhookSecretsOf(env).values()].flat(),
    env.S3_ACCESS_KEY_ID,
    env.S3_SECRET_ACCESS_KEY,
    env.REDIS_PASSWORD,
    passwordOf(env.REDIS_URL),
    library.AWS_SECRET_ACCESS_KEY,
    library.AWS_SESSION_TOKEN,
    ...headerValues(library.OTEL_EXPORTER_OTLP_HEADERS),
    ...headerValues(library.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
  ].filter((s): s is string => s !== undefined && s !== "");
}

/** The scrubber of this process's configured secrets, built once at start-up. */
export function secretScrubberOf(env: Environment, rawEnv: NodeJS.ProcessEnv = processEnvironment()): SecretScrubber {
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
