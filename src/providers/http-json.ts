import { request, type Dispatcher } from "undici";
import { ProviderError, kindFromStatus, parseRetryAfter, type ProviderErrorKind } from "./provider-error.js";
import { SecretScrubber } from "../util/secret-scrubber.js";

/** The largest provider answer read by default (`KILN_MAX_ANSWER_BYTES`): far above any documented answer, inline audio included. */
const DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 ** 2;

/** Error codes meaning the request never reached the server, so another base URL may be tried safely. */
const NOT_DELIVERED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

export interface JsonCall {
  /** Base URLs tried in order; the next one only when the previous could not be reached. */
  baseUrls: readonly string[];
  path: string;
  method?: "GET" | "POST";
  body?: unknown;
  apiKey: string;
  dispatcher?: Dispatcher;
  /** Reads the provider's error body into a kind and message; falls back to the HTTP status. */
  readError?: (status: number, body: unknown) => { kind?: ProviderErrorKind; code?: string; message?: string };
  timeoutMs?: number;
  /**
   * The largest answer body read, in bytes (`KILN_MAX_ANSWER_BYTES`): a longer one is refused as
   * `bad_response` as soon as it is announced or read that far, never buffered whole.
   * @defaultValue DEFAULT_MAX_ANSWER_BYTES (16 MiB)
   */
  maxAnswerBytes?: number;
}

/** A JSON answer with a 2xx status. */
export interface JsonAnswer {
  status: number;
  body: unknown;
  baseUrl: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One provider exchange as metrics see it: which base URL, the HTTP status or "network", how long. */
export interface ProviderResponseEvent {
  /** The base URL as configured (one of `JsonCall.baseUrls`), which tells the providers apart. */
  baseUrl: string;
  host: string;
  /** The HTTP status, or "network" when no answer arrived (refused, reset, timed out). */
  status: number | "network";
  /** From sending the request to the response headers (or the failure). */
  durationMs: number;
}

const responseObservers = new Set<(event: ProviderResponseEvent) => void>();

/**
 * Calls `observer` after every provider HTTP exchange in this process; returns the function that
 * stops it. A process-wide hook so providers stay free of metrics code; observers must be cheap.
 */
export function observeProviderResponses(observer: (event: ProviderResponseEvent) => void): () => void {
  responseObservers.add(observer);
  return () => responseObservers.delete(observer);
}

function notifyObservers(event: ProviderResponseEvent): void {
  for (const observer of responseObservers) {
    try {
      observer(event);
    } catch {
      // an observer's bug must never fail a provider call
    }
  }
}

/**
 * Sends one JSON request, trying each base URL in order while they cannot be reached. The call's
 * API key is scrubbed from every error's text here, where the provider's words enter kiln: a
 * provider that quotes the key it was sent (`Incorrect API key provided: sk-...`) must not put it
 * into a result, a webhook or a log.
 */
export async function callJson(call: JsonCall): Promise<JsonAnswer> {
  let lastError: unknown;
  for (const baseUrl of call.baseUrls) {
    try {
      return await callOnce(baseUrl, call);
    } catch (err) {
      lastError = err;
      if (!isNotDelivered(err)) break;
    }
  }
  throw withoutKey(lastError, call.apiKey);
}

async function callOnce(baseUrl: string, call: JsonCall): Promise<JsonAnswer> {
  const url = new URL(call.path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  const timeout = call.timeoutMs ?? 60_000;
  let response: Dispatcher.ResponseData;
  const started = performance.now();
  const observe = (status: number | "network") =>
    notifyObservers({ baseUrl, host: url.host, status, durationMs: performance.now() - started });
  try {
    response = await request(url, {
      method: call.method ?? "POST",
      headers: { authorization: `Bearer ${call.apiKey}`, "content-type": "application/json", accept: "application/json" },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      dispatcher: call.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
  } catch (err) {
    observe("network");
    throw new ProviderError("network", `${url.host}: ${(err as Error).message}`, {
      cause: err,
      providerCode: (err as { code?: string }).code,
    });
  }
  observe(response.statusCode);
  const text = await readCapped(response, call.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES).catch((err: unknown) => {
    throw new ProviderError("network", `${url.host}: reading the response failed: ${(err as Error).message}`, { cause: err });
  });
  if (text === undefined) {
    const why = `${url.host} answered ${response.statusCode} with more than ${call.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES} bytes (KILN_MAX_ANSWER_BYTES)`;
    // an error status still says what went wrong (a 401 stays an authentication failure); only a 2xx needed the body.
    // Final: the same call answers as much again, and a submit made again would make (and bill) another task
    if (response.statusCode >= 200 && response.statusCode < 300)
      throw new ProviderError("bad_response", why, { status: response.statusCode, retryable: false });
    throw errorFromResponse(response.statusCode, response.headers["retry-after"], why);
  }
  const body = parseJson(text);
  if (response.statusCode >= 200 && response.statusCode < 300) {
    if (body === undefined)
      throw new ProviderError(
        "bad_response",
        `${url.host} answered ${response.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`,
        { status: response.statusCode, answer: text },
      );
    return { status: response.statusCode, body, baseUrl, headers: response.headers };
  }
  throw errorFromResponse(response.statusCode, response.headers["retry-after"], body ?? text, call.readError);
}

/**
 * The answer's text, or undefined when it is longer than `maxBytes`: refused on its announced
 * length before a byte is read, else as soon as that many bytes arrived, the rest left unread
 * (the connection is dropped). Only the bytes below the cap are ever held.
 */
async function readCapped(response: Dispatcher.ResponseData, maxBytes: number): Promise<string | undefined> {
  const announced = Number(response.headers["content-length"]);
  if (announced > maxBytes) {
    response.body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += (chunk as Buffer).length;
    // leaving the loop destroys the body, so an endless answer stops here
    if (bytes > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** `err` with the API key (whole or a piece of it) replaced in its message and stack. */
function withoutKey(err: unknown, apiKey: string): unknown {
  if (!(err instanceof Error)) return err;
  const scrubber = new SecretScrubber([apiKey]);
  const message = scrubber.scrub(err.message);
  if (message === err.message) return err;
  err.message = message;
  if (err.stack) err.stack = scrubber.scrub(err.stack);
  return err;
}

/** The one factory from an HTTP error answer to a ProviderError. */
function errorFromResponse(
  status: number,
  retryAfter: string | string[] | undefined,
  body: unknown,
  readError?: JsonCall["readError"],
): ProviderError {
  const read = readError?.(status, body) ?? {};
  const kind = read.kind ?? kindFromStatus(status);
  const message = read.message ?? (typeof body === "string" && body ? body.slice(0, 500) : `HTTP ${status}`);
  return new ProviderError(kind, message, { status, providerCode: read.code, retryAfterMs: parseRetryAfter(retryAfter) });
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** The request never reached the server (refused, no such host...): no task can have been created. */
export function isNotDelivered(err: unknown): boolean {
  const code = (err as { providerCode?: string }).providerCode ?? "";
  return (err as { kind?: string }).kind === "network" && NOT_DELIVERED.has(code);
}
