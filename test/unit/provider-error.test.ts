import { describe, it, expect } from "vitest";
import {
  ProviderError,
  isProviderError,
  kindFromStatus,
  parseRetryAfter,
  type ProviderErrorKind,
} from "../../src/providers/provider-error.js";

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);

  it("reads delay-seconds as milliseconds", () => {
    expect(parseRetryAfter("120")).toBe(120_000);
    expect(parseRetryAfter("0")).toBe(0);
    expect(parseRetryAfter(" 7 ")).toBe(7000);
  });

  it("reads decimal seconds", () => {
    expect(parseRetryAfter("1.5")).toBe(1500);
  });

  it("reads an HTTP date relative to now, never negative", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
  });

  it("ignores garbage and absent values", () => {
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("1e3", now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("takes the first value of an array header", () => {
    expect(parseRetryAfter(["3", "9"])).toBe(3000);
    expect(parseRetryAfter([], now)).toBeUndefined();
  });
});

describe("kindFromStatus", () => {
  it.each([
    [400, "invalid_request"],
    [404, "invalid_request"],
    [401, "authentication"],
    [403, "model_not_available"],
    [429, "rate_limited"],
    [408, "server"],
    [500, "server"],
    [503, "server"],
  ] as const)("%i → %s", (status, kind) => {
    expect(kindFromStatus(status)).toBe(kind);
  });
});

describe("isProviderError", () => {
  it("is structural: a plain object with isProviderError: true counts", () => {
    expect(isProviderError({ isProviderError: true, kind: "server" })).toBe(true);
    expect(isProviderError(new ProviderError("server", "boom"))).toBe(true);
  });

  it("refuses an Error without the marker and non-objects", () => {
    expect(isProviderError(new Error("boom"))).toBe(false);
    expect(isProviderError({ isProviderError: "true" })).toBe(false);
    expect(isProviderError(null)).toBe(false);
    expect(isProviderError("ProviderError")).toBe(false);
  });
});

describe("ProviderError", () => {
  const retryable: Record<ProviderErrorKind, boolean> = {
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

  it.each(Object.entries(retryable))("%s retryable=%s", (kind, expected) => {
    expect(new ProviderError(kind as ProviderErrorKind, "m").retryable).toBe(expected);
  });

  it("carries the details it was given", () => {
    const cause = new Error("socket hang up");
    const err = new ProviderError("rate_limited", "slow down", {
      status: 429,
      providerCode: "rate_limit_exceeded",
      retryAfterMs: 2000,
      cause,
    });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      name: "ProviderError",
      kind: "rate_limited",
      message: "slow down",
      status: 429,
      providerCode: "rate_limit_exceeded",
      retryAfterMs: 2000,
    });
    expect(err.cause).toBe(cause);
  });
});
