import type { RedisConnection } from "../queue/redis.js";
import { isInvalidRequestError } from "../contract/invalid-request-error.js";
import { isOutOfMemory, isRedisFullError } from "../contract/redis-full-error.js";
import { HttpError, apiError, type ApiError, type ApiErrorCode } from "./api-error.js";

/** What the error handler sends for a thrown error. */
export interface ErrorReply {
  status: number;
  body: ApiError;
  headers: Record<string, string>;
}

/** Fastify's own 4xx errors (body parsing, content type, size) by status. */
const FRAMEWORK_CODES: Record<number, ApiErrorCode> = { 413: "payload_too_large" };

/**
 * Maps anything a route can throw to a status and an `ApiError` body. An error while Redis is
 * not connected is a 503 (the caller may retry), not a 500; other unexpected errors keep their
 * message out of the answer, since it may hold internals.
 */
export function errorReply(err: unknown, redis: RedisConnection): ErrorReply {
  if (err instanceof HttpError) return { status: err.status, body: apiError(err.code, err.message), headers: err.headers };
  if (isInvalidRequestError(err)) return reply(400, "invalid_request", err.message);
  // Redis at maxmemory refused the write: nothing was stored, and the same request later succeeds
  if (isRedisFullError(err) || isOutOfMemory(err))
    return {
      status: 503,
      body: apiError("redis_full", isRedisFullError(err) ? err.message : REDIS_FULL),
      headers: { "retry-after": "30" },
    };
  const e = err as { message?: string; statusCode?: number };
  if (e.statusCode === 415) return reply(415, "unsupported_media_type", "the body must be JSON, sent with content-type: application/json");
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return reply(e.statusCode, FRAMEWORK_CODES[e.statusCode] ?? "invalid_request", e.message ?? "bad request");
  }
  // fastify's handlerTimeout: the work goes on, but the caller stops waiting
  if (e.statusCode === 503) return reply(503, "unavailable", "the request timed out; try again later");
  if (redis.status !== "ready") return reply(503, "unavailable", `Redis is not reachable (connection ${redis.status}); try again later`);
  return reply(500, "internal", "internal error; the server log has the details");
}

const REDIS_FULL = "Redis is full (maxmemory reached): the request was not accepted; retry once memory is freed";

function reply(status: number, code: ApiErrorCode, message: string): ErrorReply {
  return { status, body: apiError(code, message), headers: {} };
}
