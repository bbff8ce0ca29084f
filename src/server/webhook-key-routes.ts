import type { FastifyInstance } from "fastify";
import { z } from "zod";

/** The path of the public keys: it needs no token and no Redis (http-server.ts lets it through without one). */
export const WEBHOOK_PUBLIC_KEYS_PATH = "/v1/webhooks/public-keys";

/** `GET /v1/webhooks/public-keys`: what a receiver verifies `v1a` signatures with. */
export const WebhookPublicKeys = z.object({
  keys: z
    .array(
      z.object({
        publicKey: z.string().describe("whpk_ followed by the base64 of the 32-byte Ed25519 public key, as Standard Webhooks writes it"),
        scheme: z.literal("v1a").describe("the signatures it verifies: the webhook-signature entries starting v1a,"),
      }),
    )
    .describe("one per KILN_WEBHOOK_SIGNING_KEYS key, newest first; none when it is unset (deliveries then carry no v1a signature)"),
});
export type WebhookPublicKeys = z.infer<typeof WebhookPublicKeys>;

export interface WebhookKeyRoutesOptions {
  /** `whpk_` public keys of `KILN_WEBHOOK_SIGNING_KEYS`, newest first. */
  publicKeys: readonly string[];
}

/**
 * Serves the public keys to anyone: a public key verifies, it cannot sign, and a receiver that
 * fetches them should not need a token that reads every job. A receiver should still pin the
 * keys it trusts (Standard Webhooks: establish a trust list), fetched from a kiln it knows.
 */
export function registerWebhookKeyRoutes(app: FastifyInstance, options: WebhookKeyRoutesOptions): void {
  const answer: WebhookPublicKeys = { keys: options.publicKeys.map((publicKey) => ({ publicKey, scheme: "v1a" })) };
  app.get(WEBHOOK_PUBLIC_KEYS_PATH, async () => answer);
}
