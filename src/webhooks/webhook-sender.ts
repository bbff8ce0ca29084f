import { request, type Dispatcher } from "undici";
import { parseRetryAfter } from "../providers/provider-error.js";
import { assertSafeUrl, isUnsafeUrlError } from "../net/url-guard.js";
import type { WebhookSigner } from "./webhook-signer.js";

/** How one delivery attempt ended. */
export type AttemptOutcome =
  | { result: "delivered"; status: number }
  /** The receiver answered 410 Gone: it wants no more of these; retrying is pointless. */
  | { result: "gone"; status: number }
  /** The URL points at a refused address: it will be refused on every retry too. */
  | { result: "refused"; error: string }
  | { result: "retry"; status?: number; error: string; retryAfterMs?: number };

/** One message ready to send: the body is the exact bytes that get signed. */
export interface OutgoingWebhook {
  messageId: string;
  url: string;
  body: string;
}

export interface WebhookSenderOptions {
  /** The outbound agent; its lookup refuses private addresses unless allowed. */
  dispatcher: Dispatcher;
  /** Lifts the IP-literal check (KILN_ALLOW_PRIVATE_URLS); the dispatcher must agree. */
  allowPrivate: boolean;
  /** A receiver that has not answered in full by then counts as failed. @defaultValue 15 s */
  timeoutMs?: number;
}

/** Statuses whose Retry-After is honoured: the receiver is telling us when to come back. */
const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);

/**
 * POSTs one signed delivery. 2xx is success; redirects are not followed (a 3xx is a failure,
 * as Standard Webhooks expects, and following one could lead anywhere); 410 stops retries;
 * Retry-After is read on 429, 502, 503, 504. Never throws: every ending is an outcome.
 */
export class WebhookSender {
  constructor(private readonly options: WebhookSenderOptions) {}

  async send(message: OutgoingWebhook, signer: WebhookSigner, at = new Date()): Promise<AttemptOutcome> {
    const timeout = this.options.timeoutMs ?? 15_000;
    try {
      const url = assertSafeUrl(message.url, this.options.allowPrivate);
      const response = await request(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "kiln-webhooks/1",
          ...signer.sign(message.messageId, message.body, at),
        },
        body: message.body,
        dispatcher: this.options.dispatcher,
        // one budget for connect + headers + body: a receiver trickling bytes cannot hold a slot
        signal: AbortSignal.timeout(timeout),
      });
      await response.body.dump();
      return classify(response.statusCode, response.headers["retry-after"]);
    } catch (err) {
      return failure(err, timeout);
    }
  }
}

function classify(status: number, retryAfter: string | string[] | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { result: "delivered", status };
  if (status === 410) return { result: "gone", status };
  const error = status >= 300 && status < 400 ? `receiver answered ${status} (redirects are not followed)` : `receiver answered ${status}`;
  return { result: "retry", status, error, retryAfterMs: RETRY_AFTER_STATUSES.has(status) ? parseRetryAfter(retryAfter) : undefined };
}

function failure(err: unknown, timeoutMs: number): AttemptOutcome {
  const e = err as Error & { code?: string };
  if (isUnsafeUrlError(e)) return { result: "refused", error: e.message };
  // a URL the schema let through but WHATWG cannot parse will not parse next time either
  if (e.name === "TypeError" && e.code === "ERR_INVALID_URL") return { result: "refused", error: "invalid URL" };
  if (e.name === "TimeoutError" || e.name === "AbortError") return { result: "retry", error: `no answer within ${timeoutMs} ms` };
  return { result: "retry", error: e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message };
}
