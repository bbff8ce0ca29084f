import { z } from "zod";
import { MAX_WEBHOOK_SECRETS, WebhookSecret } from "../contract/webhook-secret.js";
import { parseSigningKey, type WebhookSigningKey } from "../contract/webhook-signing-key.js";
import { RetryScheduleText } from "../webhooks/retry-schedule.js";
import { configError } from "./errors.js";
import { Flag, WholeNumber } from "./values.js";

/**
 * A comma-separated list, newest first, of 1 to MAX_WEBHOOK_SECRETS entries (blank ones
 * skipped), each checked by `problemOf`. A bad entry is named by its place, never by its value:
 * these are credentials.
 */
function KeyList(noun: string, problemOf: (entry: string) => string | undefined) {
  return z.string().transform((text, ctx) => {
    const seen = new Map<string, number>();
    let count = 0;
    text.split(",").forEach((raw, index) => {
      const entry = raw.trim();
      if (entry === "") return;
      count++;
      const earlier = seen.get(entry);
      const problem = problemOf(entry) ?? (earlier === undefined ? undefined : `the same ${noun} as entry ${earlier + 1}`);
      if (problem) ctx.addIssue({ code: "custom", message: `entry ${index + 1}: ${problem}` });
      else seen.set(entry, index);
    });
    if (count === 0) ctx.addIssue({ code: "custom", message: `expected at least one ${noun}` });
    if (count > MAX_WEBHOOK_SECRETS) ctx.addIssue({ code: "custom", message: `expected at most ${MAX_WEBHOOK_SECRETS} ${noun}s` });
    return [...seen.keys()];
  });
}

const secretProblem = (entry: string) => WebhookSecret.safeParse(entry).error?.issues[0]?.message;
const signingKeyProblem = (entry: string) => {
  const parsed = parseSigningKey(entry);
  return "problem" in parsed ? parsed.problem : undefined;
};

/** Webhooks: how deliveries are signed, retried and timed, and which targets outbound requests may reach. */
export const WebhooksConfig = z.object({
  /** Signs deliveries of requests without their own secret: `whsec_` + base64. `kiln worker` needs it or KILN_WEBHOOK_SECRETS; unset by default. */
  KILN_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, { message: "expected whsec_ followed by a base64 secret" })
    .optional(),
  /**
   * The same, several at once for a rotation: `whsec_new,whsec_old`, newest first, at most 5.
   * Every delivery carries a `v1` signature of each. Not with KILN_WEBHOOK_SECRET. Unset by default.
   */
  KILN_WEBHOOK_SECRETS: KeyList("secret", secretProblem).optional(),
  /**
   * Standard Webhooks' asymmetric keys, `whsk_…,whsk_…`, newest first, at most 5: every delivery
   * also carries a `v1a` (Ed25519) signature of each, verified with the public keys that
   * `GET /v1/webhooks/public-keys` lists. Unset by default: no `v1a` signatures.
   */
  KILN_WEBHOOK_SIGNING_KEYS: KeyList("key", signingKeyProblem).optional(),
  /** Delays after the first attempt (`5s,5m,30m`; at most 20, each at most 24 h). Unset by default: Svix's schedule. */
  KILN_WEBHOOK_RETRY_SCHEDULE: RetryScheduleText.optional(),
  /** Per-attempt timeout: 100 to 300000 ms. Unset by default: 15000. */
  KILN_WEBHOOK_TIMEOUT_MS: WholeNumber(100, 300_000, {
    whole: "expected whole milliseconds",
    range: "expected 100 to 300000 ms",
  }).optional(),
  /** Loopback and private webhook and download targets allowed (tests, the demo). Default false. */
  KILN_ALLOW_PRIVATE_URLS: Flag.default(false),
});
export type WebhooksConfig = z.infer<typeof WebhooksConfig>;

/** KILN_WEBHOOK_SECRET is one secret, KILN_WEBHOOK_SECRETS several: with both, which signs would be a guess. */
export function checkWebhooks<E extends WebhooksConfig>(env: E): E {
  if (env.KILN_WEBHOOK_SECRET !== undefined && env.KILN_WEBHOOK_SECRETS !== undefined)
    throw configError("KILN_WEBHOOK_SECRET, KILN_WEBHOOK_SECRETS: set one or the other (KILN_WEBHOOK_SECRETS takes one secret too)");
  return env;
}

/** The secrets that sign deliveries without a request's or tenant's own, newest first; empty when neither variable is set. */
export function webhookSecretsOf(env: WebhooksConfig): string[] {
  return env.KILN_WEBHOOK_SECRETS ?? (env.KILN_WEBHOOK_SECRET === undefined ? [] : [env.KILN_WEBHOOK_SECRET]);
}

/** `KILN_WEBHOOK_SIGNING_KEYS` as key pairs, newest first; none when it is unset. */
export function webhookSigningKeysOf(env: WebhooksConfig): WebhookSigningKey[] {
  return (env.KILN_WEBHOOK_SIGNING_KEYS ?? []).map((text, index) => {
    const parsed = parseSigningKey(text);
    // the schema checked every key: this is for an environment built without it
    if ("problem" in parsed) throw configError(`KILN_WEBHOOK_SIGNING_KEYS: entry ${index + 1}: ${parsed.problem}`);
    return parsed.key;
  });
}
