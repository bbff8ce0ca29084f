import { Webhook as SvixWebhook } from "svix";
import type { ReceivedWebhook } from "@kiln/dev-tools";

export { WebhookReceiver, type ReceivedWebhook } from "@kiln/dev-tools";

/** A second, independent verifier: svix reads the same scheme from `svix-*` headers. */
export function verifiedBySvix(delivery: ReceivedWebhook, secret: string): boolean {
  const h = delivery.headers;
  try {
    new SvixWebhook(secret).verify(delivery.body, {
      "svix-id": h["webhook-id"] ?? "",
      "svix-timestamp": h["webhook-timestamp"] ?? "",
      "svix-signature": h["webhook-signature"] ?? "",
    });
    return true;
  } catch {
    return false;
  }
}
