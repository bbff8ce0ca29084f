import { z } from "zod";

/** Machine-readable error codes of the HTTP API; `message` is for people. */
export const ApiErrorCode = z.enum([
  "invalid_request",
  "unauthorized",
  "forbidden",
  "auth_not_configured",
  "not_found",
  "conflict",
  "unsupported_media_type",
  "payload_too_large",
  "range_not_satisfiable",
  "not_ready",
  "unavailable",
  "redis_full",
  "internal",
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** Every error answer of the HTTP API has this body. */
export const ApiError = z.object({
  error: z.object({ code: ApiErrorCode, message: z.string() }),
});
export type ApiError = z.infer<typeof ApiError>;

/** Thrown by route handlers; the server's error handler turns it into a status and an `ApiError` body. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Extra response headers, such as `WWW-Authenticate` on a 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function apiError(code: ApiErrorCode, message: string): ApiError {
  return { error: { code, message } };
}
