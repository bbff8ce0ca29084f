import { Readable } from "node:stream";
import { request, type Dispatcher } from "undici";
import type { OutputSource } from "../providers/output-source.js";
import { ProviderError, kindFromStatus, parseRetryAfter } from "../providers/provider-error.js";
import { assertSafeUrl } from "../net/url-guard.js";
import { redactUrl } from "../util/redact-url.js";
import { ArchiveError } from "./archive-error.js";
import { formatBytes, limitVariable, type OutputLimits } from "./output-limits.js";

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

/** Redirects followed per download: a loop or a longer chain is a broken URL, not a slow one. */
const MAX_REDIRECTS = 5;

/**
 * Opens provider outputs for streaming: downloads (following redirects) or inline bytes. The
 * output's limits hold from the first request: a download announcing more than
 * `limits.maxBytes` is refused before its body is read, and one still running after
 * `limits.timeoutMs` (redirects, headers and body together) is aborted. The bytes actually
 * read are the reader's to count (an announced length may lie).
 */
export class OutputFetcher {
  constructor(private readonly options: OutputFetcherOptions) {}

  async open(source: OutputSource, limits: OutputLimits): Promise<OpenedOutput> {
    if (source.inline) {
      const bytes = Buffer.from(source.inline.data, source.inline.encoding);
      if (bytes.length > limits.maxBytes) throw tooLarge(limits, `has ${bytes.length} bytes inline`);
      return { body: Readable.from([bytes]), contentType: source.contentType, length: bytes.length };
    }
    if (!source.url) throw new ProviderError("bad_response", "output has neither a URL nor inline bytes");
    const total = new AbortController();
    const timer = setTimeout(() => total.abort(timedOut(limits, source.url!)), limits.timeoutMs);
    // the timer must never keep a closing worker alive
    timer.unref();
    try {
      const opened = await this.download(source.url, source.expiresAt, 0, limits, total.signal);
      // the body is read long after this returns: the cap ends with it, however it ends
      opened.body.once("close", () => clearTimeout(timer));
      return opened;
    } catch (err) {
      clearTimeout(timer);
      throw err;
    }
  }

  private async download(
    url: string,
    expiresAt: string | undefined,
    redirects: number,
    limits: OutputLimits,
    signal: AbortSignal,
  ): Promise<OpenedOutput> {
    const target = refuseUnsafe(() => assertSafeUrl(url, this.options.allowPrivate));
    const timeout = this.options.idleTimeoutMs ?? 60_000;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(target, {
        method: "GET",
        dispatcher: this.options.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal,
      });
    } catch (err) {
      if (isUnsafe(err)) throw new ProviderError("invalid_request", (err as Error).message, { cause: err });
      if (signal.aborted) throw signal.reason;
      throw new ProviderError("network", `downloading ${redactUrl(target)}: ${(err as Error).message}`, { cause: err });
    }
    const { statusCode: status, headers } = response;
    if (status >= 300 && status < 400 && typeof headers.location === "string") {
      // dump reads at most 128 KiB (so the connection can be reused) and drops the rest
      await response.body.dump().catch(() => undefined);
      // each hop goes through assertSafeUrl and the guarded agent again: no redirect into refused ranges.
      // A loop answers the same on every retry, so it is final at once.
      if (redirects >= MAX_REDIRECTS)
        throw new ProviderError("bad_response", `more than ${MAX_REDIRECTS} redirects from ${redactUrl(target)}`, { retryable: false });
      return this.download(new URL(headers.location, target).href, expiresAt, redirects + 1, limits, signal);
    }
    if (status < 200 || status >= 300) throw await downloadError(response, target, expiresAt);
    const length = Number(headers["content-length"]);
    if (Number.isFinite(length) && length > limits.maxBytes) {
      discard(response.body);
      throw tooLarge(limits, `announces ${length} bytes (Content-Length) at ${redactUrl(target)}`);
    }
    return {
      body: response.body,
      contentType: typeof headers["content-type"] === "string" ? headers["content-type"] : undefined,
      length: Number.isFinite(length) ? length : undefined,
    };
  }
}

/** An output over its kind's size limit: the same output is as large on every retry. */
export function tooLarge(limits: OutputLimits, detail: string): ArchiveError {
  return new ArchiveError(
    `output ${detail}, over the ${formatBytes(limits.maxBytes)} limit of ${limits.kind} outputs (${limitVariable("maxBytes", limits.kind)})`,
  );
}

/** Transient: a slow link may be faster next time; the archive deadline bounds the retries. */
function timedOut(limits: OutputLimits, url: string): ProviderError {
  const seconds = Math.round(limits.timeoutMs / 1000);
  return new ProviderError(
    "network",
    `downloading ${redactUrl(url)} took longer than ${seconds} s, the limit of ${limits.kind} outputs (${limitVariable("timeoutMs", limits.kind)})`,
  );
}

/**
 * Drops a body without reading it. Destroying an undici body that has not ended emits an
 * error: it gets a listener here, or it would be an uncaught exception that ends the process.
 */
export function discard(body: Readable): void {
  if (body.destroyed) return;
  body.on("error", () => undefined);
  body.destroy();
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
  const text = (await headOf(response.body, 200)).toString("utf8");
  const transient = status === 408 || status === 429 || status >= 500;
  const kind = transient ? kindFromStatus(status) : "result_expired";
  const expiry = expiresAt ? ` (the provider's URL expires at ${expiresAt})` : "";
  const message = `result URL ${redactUrl(url)} answered ${status}${expiry}${text ? `: ${text}` : ""}`;
  return new ProviderError(kind, message, { status, retryAfterMs: parseRetryAfter(response.headers["retry-after"]) });
}

/** The first `max` bytes of an error body, and the rest dropped: an error page may be endless. */
async function headOf(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  // leaving the loop early destroys the body, whose error then needs a listener
  body.on("error", () => undefined);
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= max) break;
    }
  } catch {
    // the status already says what happened; a broken error page adds nothing
  }
  discard(body);
  return Buffer.concat(chunks).subarray(0, max);
}
