import { Webhook } from "standardwebhooks";

/** Standard Webhooks headers for one delivery attempt. */
export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** Signs bodies with a `whsec_` secret (Standard Webhooks v1: HMAC-SHA256 of `id.timestamp.body`). */
export class WebhookSigner {
  private readonly webhook: Webhook;

  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  /** Headers for `body` sent now as message `messageId`; the timestamp is per attempt. */
  sign(messageId: string, body: string, at = new Date()): SignedHeaders {
    return {
      "webhook-id": messageId,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": this.webhook.sign(messageId, at, body),
    };
  }
}
