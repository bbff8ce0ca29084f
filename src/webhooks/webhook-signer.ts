import { createHmac, sign } from "node:crypto";
import { secretKey } from "../contract/webhook-secret.js";
import type { WebhookSigningKey } from "../contract/webhook-signing-key.js";

/** Standard Webhooks headers for one delivery attempt. */
export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs bodies as Standard Webhooks asks, over `id.timestamp.body`: a `v1` signature (HMAC-SHA256,
 * base64) per `whsec_` secret, then a `v1a` signature (Ed25519, base64) per `whsk_` key, each list
 * newest first, space-separated in one header. A receiver holding any one of the secrets, or the
 * public key of any one of the keys, verifies the delivery: that is what lets keys rotate without
 * a gap. Node's own HMAC and Ed25519: the `standardwebhooks` package hashes in JavaScript, a cost
 * on every delivery; the tests verify these signatures with that package, with svix and with
 * node's `crypto.verify`.
 */
export class WebhookSigner {
  private readonly keys: Buffer[];

  /**
   * @param secrets one `whsec_` secret, or several, newest first (at least one)
   * @param signingKeys `whsk_` keys, newest first. @defaultValue none: no `v1a` signatures
   */
  constructor(
    secrets: string | readonly string[],
    private readonly signingKeys: readonly WebhookSigningKey[] = [],
  ) {
    const all = typeof secrets === "string" ? [secrets] : secrets;
    if (all.length === 0) throw new Error("the webhook signer needs at least one secret");
    this.keys = all.map((secret, index) => {
      const key = secretKey(secret);
      // the message names the place, never the secret: it may reach a log
      if (!key) throw new Error(`the webhook secret ${index + 1} is not whsec_ followed by base64`);
      return key;
    });
  }

  /** Headers for `body` sent now as message `messageId`; the timestamp is per attempt. */
  sign(messageId: string, body: string, at = new Date()): SignedHeaders {
    const timestamp = String(Math.floor(at.getTime() / 1000));
    const content = Buffer.from(`${messageId}.${timestamp}.${body}`);
    const symmetric = this.keys.map((key) => `v1,${createHmac("sha256", key).update(content).digest("base64")}`);
    const asymmetric = this.signingKeys.map(({ privateKey }) => `v1a,${sign(null, content, privateKey).toString("base64")}`);
    return { "webhook-id": messageId, "webhook-timestamp": timestamp, "webhook-signature": [...symmetric, ...asymmetric].join(" ") };
  }
}
