import { z } from "zod";
import { configError } from "./errors.js";
import { ByteSize, PositiveNumber, Secret, UrlList, WholeNumber } from "./values.js";

/** What a submit whose outcome is unknown leads to: submit again (default) or fail the job. */
const UnknownSubmitPolicy = z.enum(["retry", "fail"]);

/** A provider's requests per second across all processes; a fraction is honoured (0.5 = one every 2 s). */
const Rate = PositiveNumber;

/** A provider's tasks in flight at once, across all processes. */
const InflightCap = z.coerce
  .number({ message: "expected a positive integer" })
  .int({ message: "expected a positive integer" })
  .positive({ message: "expected a positive integer" });

/**
 * The providers (TokenHub, wcode, the gateway) and what kiln may ask of them. A provider runs
 * when its API key is set. Per-model in-flight caps, `KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>`,
 * have names no schema can list: `modelInflightCaps` reads them.
 */
export const ProvidersConfig = z.object({
  /** TokenHub's API key; enables `generate-tokenhub`. Unset by default. */
  TOKENHUB_API_KEY: Secret.optional(),
  /** TokenHub's base URLs, comma-separated, tried in order while unreachable. Default its `.com` host, then its `.cn` one. */
  TOKENHUB_BASE_URL: UrlList.default(["https://tokenhub.tencentmaas.com", "https://tokenhub.tencentmaas.cn"]),
  /** The unified gateway's API key; enables `generate-gateway`. Unset by default. */
  GATEWAY_API_KEY: Secret.optional(),
  /** The gateway's base URLs, comma-separated: required with `GATEWAY_API_KEY` (the gateway's document names no host). */
  GATEWAY_BASE_URL: UrlList.optional(),
  /** Where gateway requests are POSTed: a path starting with `/`. Default `/v1/chat/completions`. */
  GATEWAY_SUBMIT_PATH: z
    .string()
    .regex(/^\/\S*$/, { message: "expected a path starting with /" })
    .default("/v1/chat/completions"),
  /** wcode's API key; enables `generate-wcode`. Unset by default. */
  WCODE_API_KEY: Secret.optional(),
  /** wcode's base URLs, comma-separated. Default `https://wcode.net/api/gpt/v1`. */
  WCODE_BASE_URL: UrlList.default(["https://wcode.net/api/gpt/v1"]),
  /** TokenHub requests per second, a positive number. Unset by default: unlimited. */
  KILN_TOKENHUB_RATE: Rate.optional(),
  /** The gateway's requests per second. Unset by default: unlimited. */
  KILN_GATEWAY_RATE: Rate.optional(),
  /** wcode's requests per second. Unset by default: unlimited. */
  KILN_WCODE_RATE: Rate.optional(),
  /** TokenHub tasks in flight at once, a positive integer. Unset by default: uncapped. */
  KILN_TOKENHUB_MAX_INFLIGHT: InflightCap.optional(),
  /** The gateway's tasks in flight at once. Unset by default: uncapped. */
  KILN_GATEWAY_MAX_INFLIGHT: InflightCap.optional(),
  /** wcode's tasks in flight at once. Unset by default: uncapped. */
  KILN_WCODE_MAX_INFLIGHT: InflightCap.optional(),
  /** An outcome-unknown TokenHub submit (5xx, reset or timeout after sending, unreadable 2xx): `retry` (default) or `fail`. */
  KILN_TOKENHUB_ON_UNKNOWN_SUBMIT: UnknownSubmitPolicy.default("retry"),
  /** The same for the gateway. Default `retry`. */
  KILN_GATEWAY_ON_UNKNOWN_SUBMIT: UnknownSubmitPolicy.default("retry"),
  /** The same for wcode. Default `retry`. */
  KILN_WCODE_ON_UNKNOWN_SUBMIT: UnknownSubmitPolicy.default("retry"),
  /** The largest provider API answer read (JSON), at least 64 KiB; a longer one is a bad_response. Unset by default: 16 MiB. */
  KILN_MAX_ANSWER_BYTES: ByteSize.pipe(z.number().min(64 * 1024, { message: "expected at least 64KiB" })).optional(),
  /** Status answers in a row no reading understands before the job fails bad_response: 1 to 1000. Default 5. */
  KILN_MAX_BAD_ANSWERS: WholeNumber(1, 1000).default(5),
});
export type ProvidersConfig = z.infer<typeof ProvidersConfig>;

/** Providers whose variables need each other. */
export function checkProviders<E extends ProvidersConfig>(env: E): E {
  if (env.GATEWAY_API_KEY && !env.GATEWAY_BASE_URL)
    throw configError("GATEWAY_BASE_URL: required when GATEWAY_API_KEY is set (the gateway's document names no host)");
  return env;
}

/**
 * Per-model in-flight caps: `KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>`, the model id upper-cased
 * with every character other than A-Z and 0-9 as `_` (wan2.7-t2v → WAN2_7_T2V). Each a positive
 * integer; a bad one is a ConfigError naming it.
 */
export function modelInflightCaps(env: NodeJS.ProcessEnv, provider: string): Map<string, number> {
  const prefix = `KILN_${provider.toUpperCase()}_MAX_INFLIGHT_`;
  const caps = new Map<string, number>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined || value === "") continue;
    const cap = Number(value);
    if (!Number.isInteger(cap) || cap < 1) throw configError(`${name}: expected a positive integer`);
    caps.set(name.slice(prefix.length), cap);
  }
  return caps;
}
