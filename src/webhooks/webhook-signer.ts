import { createHmac } from "node:crypto";
import { secretKey } from "../contract/webhook-secret.js";

/** Standard Webhooks headers for one delivery attempt. */
export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs bodies with a `whsec_` secret (Standard Webhooks v1: HMAC-SHA256 of `id.timestamp.body`,
 * base64). Node's own HMAC: the `standardwebhooks` package hashes in JavaScript, a cost on every
 * delivery; the tests verify these signatures with that package and with svix.
 */
export class WebhookSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    const key = secretKey(secret);
    if (!key) throw new Error("the webhook secret is not whsec_ followed by base64");
    this.key = key;
  }

  /** Headers for `body` sent now as message `messageId`; the timestamp is per attempt. */
  sign(messageId: string, body: string, at = new Date()): SignedHeaders {
    const timestamp = String(Math.floor(at.getTime() / 1000));
    const signature = createHmac("sha256", this.key).update(`${messageId}.${timestamp}.${body}`).digest("base64");
    return { "webhook-id": messageId, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
  }
}
