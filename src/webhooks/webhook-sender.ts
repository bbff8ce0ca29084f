import { request, type Dispatcher } from "undici";
import { parseRetryAfter } from "../providers/provider-error.js";
import { assertSafeUrl } from "./url-guard.js";
import type { WebhookSigner } from "./webhook-signer.js";
import type { WebhookDelivery } from "./webhook-message.js";

/** How one delivery attempt ended. */
export type AttemptOutcome =
  | { result: "delivered"; status: number }
  /** The receiver answered 410 Gone: it wants no more of these; retrying is pointless. */
  | { result: "gone"; status: number }
  | { result: "retry"; status?: number; error: string; retryAfterMs?: number };

export interface WebhookSenderOptions {
  signer: WebhookSigner;
  dispatcher: Dispatcher;
  allowPrivate: boolean;
  /** A receiver that has not answered by then counts as failed. @defaultValue 15 s */
  timeoutMs?: number;
}

/**
 * POSTs one signed delivery. 2xx is success; redirects are not followed (a 3xx is a failure,
 * as Standard Webhooks expects); 410 stops retries; Retry-After is read on 429, 502, 503, 504.
 */
export class WebhookSender {
  constructor(private readonly options: WebhookSenderOptions) {}

  async send(delivery: WebhookDelivery, at = new Date()): Promise<AttemptOutcome> {
    const body = JSON.stringify(delivery.payload);
    const timeout = this.options.timeoutMs ?? 15_000;
    try {
      const url = assertSafeUrl(delivery.url, this.options.allowPrivate);
      const response = await request(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "kiln-webhooks/1", ...this.options.signer.sign(delivery.messageId, body, at) },
        body,
        dispatcher: this.options.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      await response.body.dump();
      return classify(response.statusCode, response.headers["retry-after"]);
    } catch (err) {
      return { result: "retry", error: (err as Error).message };
    }
  }
}

function classify(status: number, retryAfter: string | string[] | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { result: "delivered", status };
  if (status === 410) return { result: "gone", status };
  const honoured = status === 429 || status === 502 || status === 503 || status === 504;
  return { result: "retry", status, error: `receiver answered ${status}`, retryAfterMs: honoured ? parseRetryAfter(retryAfter) : undefined };
}
