import { z } from "zod";

/** Standard Webhooks' own bounds for a signing key: 24 to 64 bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** Canonical base64 (padded to a multiple of 4), which is what `standardwebhooks` can decode. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The signing key of a secret, `whsec_<base64>` or the base64 alone (as `standardwebhooks`
 * accepts both), or undefined when the base64 is empty or not canonical.
 */
export function secretKey(secret: string): Buffer | undefined {
  return canonicalBase64(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
}

/** The bytes of canonical, non-empty base64, or undefined for anything else. */
export function canonicalBase64(encoded: string): Buffer | undefined {
  return encoded !== "" && BASE64.test(encoded) ? Buffer.from(encoded, "base64") : undefined;
}

/** Byte length of a key in `whsec_<base64>` form, or undefined when it is not in that form. */
function secretKeyBytes(secret: string): number | undefined {
  return secret.startsWith("whsec_") ? secretKey(secret)?.length : undefined;
}

/**
 * A signing secret in `whsec_` form, as a per-request `webhook.secret`. Messages never echo the
 * value, since they end up in error replies and job failure reasons.
 */
export const WebhookSecret = z.string().refine(
  (s) => {
    const bytes = secretKeyBytes(s);
    return bytes !== undefined && bytes >= MIN_KEY_BYTES && bytes <= MAX_KEY_BYTES;
  },
  { message: `expected whsec_ followed by the base64 of a ${MIN_KEY_BYTES}-${MAX_KEY_BYTES} byte key` },
);
export type WebhookSecret = z.infer<typeof WebhookSecret>;

/**
 * The most secrets one signer holds (`webhook.secrets`, a tenant's, `KILN_WEBHOOK_SECRETS`): a
 * rotation needs two, and every one costs an HMAC and a signature in the header of each attempt.
 */
export const MAX_WEBHOOK_SECRETS = 5;

/**
 * Secrets in use at once, newest first (`webhook.secrets`): every delivery carries a signature
 * of each, so a receiver holding any one of them verifies it while keys rotate.
 */
export const WebhookSecrets = z
  .array(WebhookSecret)
  .min(1, { message: "expected at least one secret" })
  .max(MAX_WEBHOOK_SECRETS, { message: `expected at most ${MAX_WEBHOOK_SECRETS} secrets` });
export type WebhookSecrets = z.infer<typeof WebhookSecrets>;
