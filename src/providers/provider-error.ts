/**
 * What kiln does about a provider error, decided once here and nowhere else:
 * - `invalid_request`, `authentication`, `model_not_available`: the provider will never accept
 *   this job; fail now with the provider's message.
 * - `rate_limited`: wait (Retry-After or backoff) without spending an attempt.
 * - `server`, `network`: transient; retry with backoff until the job's deadline.
 * - `result_expired`: the provider's result URL is already dead; nothing can bring it back.
 * - `task_failed`: the provider ran the task and reports failure.
 */
export type ProviderErrorKind =
  | "invalid_request"
  | "authentication"
  | "model_not_available"
  | "rate_limited"
  | "server"
  | "network"
  | "result_expired"
  | "task_failed"
  | "bad_response";

const RETRYABLE: Record<ProviderErrorKind, boolean> = {
  invalid_request: false,
  authentication: false,
  model_not_available: false,
  rate_limited: true,
  server: true,
  network: true,
  result_expired: false,
  task_failed: false,
  bad_response: true,
};

export interface ProviderErrorDetails {
  /** HTTP status of the provider's answer, when there was one. */
  status?: number;
  /** The provider's own error code (e.g. TokenHub's `rate_limit_exceeded`). */
  providerCode?: string;
  /** From the Retry-After header, in milliseconds. */
  retryAfterMs?: number;
  /**
   * The answer kiln could not read (a `bad_response`): logged, redacted and cut, when the job
   * gives up on it; never put into a result, where a provider's echo of a credential would leak.
   */
  answer?: unknown;
  /**
   * Overrides the kind's default: `false` for an answer known to come back the same on every
   * retry (a redirect loop is a `bad_response` no retry mends). @defaultValue the kind's
   */
  retryable?: boolean;
  cause?: unknown;
}

/** An error from a provider call, carrying what the worker needs to decide what to do. */
export class ProviderError extends Error {
  override name = "ProviderError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isProviderError = true;
  readonly retryable: boolean;
  readonly status?: number;
  readonly providerCode?: string;
  readonly retryAfterMs?: number;
  declare readonly answer?: unknown;

  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    details: ProviderErrorDetails = {},
  ) {
    super(message, { cause: details.cause });
    this.retryable = details.retryable ?? RETRYABLE[kind];
    this.status = details.status;
    this.providerCode = details.providerCode;
    this.retryAfterMs = details.retryAfterMs;
    // not enumerable: a logged error must not carry a provider's whole answer, unredacted
    Object.defineProperty(this, "answer", { value: details.answer, enumerable: false });
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return typeof err === "object" && err !== null && (err as { isProviderError?: unknown }).isProviderError === true;
}

/** The error class for an HTTP status when the body names no known code. */
export function kindFromStatus(status: number): ProviderErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 401) return "authentication";
  if (status === 403) return "model_not_available";
  if (status === 408 || status >= 500) return "server";
  return "invalid_request";
}

/**
 * Retry-After as milliseconds: either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Unparseable or negative values are ignored rather than trusted.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(raw)) return Math.round(Number(raw) * 1000);
  // only the IMF-fixdate form: Date.parse alone reads "-5" or "in 5" as dates in 2001
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(raw.trim())) return undefined;
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
