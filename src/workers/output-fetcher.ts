import { Readable } from "node:stream";
import { request, type Dispatcher } from "undici";
import type { OutputSource } from "../providers/output-source.js";
import { ProviderError, kindFromStatus, parseRetryAfter } from "../providers/provider-error.js";
import { assertSafeUrl } from "../webhooks/url-guard.js";
import { redactUrl } from "../util/redact-url.js";

/** An output's bytes as a stream, with what the source said about them. */
export interface OpenedOutput {
  body: Readable;
  contentType?: string;
  /** Content-Length when the source gave one. */
  length?: number;
}

export interface OutputFetcherOptions {
  /** The outbound agent, which refuses private addresses unless allowed. */
  dispatcher: Dispatcher;
  allowPrivate: boolean;
  /** Gives up on a download whose server stops sending for this long. @defaultValue 60 s */
  idleTimeoutMs?: number;
}

/** Opens provider outputs for streaming: downloads (following redirects) or inline bytes. */
export class OutputFetcher {
  constructor(private readonly options: OutputFetcherOptions) {}

  async open(source: OutputSource): Promise<OpenedOutput> {
    if (source.inline) {
      const bytes = Buffer.from(source.inline.data, source.inline.encoding);
      return { body: Readable.from([bytes]), contentType: source.contentType, length: bytes.length };
    }
    if (!source.url) throw new ProviderError("bad_response", "output has neither a URL nor inline bytes");
    return this.download(source.url, source.expiresAt, 0);
  }

  private async download(url: string, expiresAt: string | undefined, redirects: number): Promise<OpenedOutput> {
    const target = refuseUnsafe(() => assertSafeUrl(url, this.options.allowPrivate));
    const timeout = this.options.idleTimeoutMs ?? 60_000;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(target, {
        method: "GET",
        dispatcher: this.options.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      if (isUnsafe(err)) throw new ProviderError("invalid_request", (err as Error).message, { cause: err });
      throw new ProviderError("network", `downloading ${redactUrl(target)}: ${(err as Error).message}`, { cause: err });
    }
    const { statusCode: status, headers } = response;
    if (status >= 300 && status < 400 && typeof headers.location === "string") {
      await response.body.dump();
      // each hop goes through assertSafeUrl and the guarded agent again: no redirect into refused ranges
      if (redirects >= 5) throw new ProviderError("bad_response", `too many redirects from ${redactUrl(target)}`);
      return this.download(new URL(headers.location, target).href, expiresAt, redirects + 1);
    }
    if (status < 200 || status >= 300) throw await downloadError(response, target, expiresAt);
    const length = Number(headers["content-length"]);
    return {
      body: response.body,
      contentType: typeof headers["content-type"] === "string" ? headers["content-type"] : undefined,
      length: Number.isFinite(length) ? length : undefined,
    };
  }
}

/** A refused address is final: the same URL will be refused on every retry. */
function refuseUnsafe<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isUnsafe(err)) throw new ProviderError("invalid_request", (err as Error).message, { cause: err });
    throw err;
  }
}

function isUnsafe(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code === "EUNSAFEURL" || e.cause?.code === "EUNSAFEURL";
}

/**
 * A result URL answering 4xx no longer serves the result (expired signature, deleted object):
 * retrying cannot help, so it is `result_expired`. 408, 429 and 5xx are transient.
 */
async function downloadError(response: Dispatcher.ResponseData, url: URL, expiresAt: string | undefined): Promise<ProviderError> {
  const status = response.statusCode;
  const text = (await response.body.text().catch(() => "")).slice(0, 200);
  const transient = status === 408 || status === 429 || status >= 500;
  const kind = transient ? kindFromStatus(status) : "result_expired";
  const expiry = expiresAt ? ` (the provider's URL expires at ${expiresAt})` : "";
  const message = `result URL ${redactUrl(url)} answered ${status}${expiry}${text ? `: ${text}` : ""}`;
  return new ProviderError(kind, message, { status, retryAfterMs: parseRetryAfter(response.headers["retry-after"]) });
}
