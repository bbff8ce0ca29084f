import { describe, expect, it } from "vitest";
import { ConfigError, loadEnvironment } from "../../src/config/index.js";
import { parseRetryAfter } from "../../src/providers/provider-error.js";
import { urlExpiresAt } from "../../src/providers/result-url.js";
import { readTaskStatus, readTokenHubError } from "../../src/providers/tokenhub/tokenhub-responses.js";
import { mediaTypeOf } from "../../src/storage/media-types.js";

describe("parsers refuse what only looks valid", () => {
  it("an error code named like an Object property is not a known TokenHub code", () => {
    expect(readTokenHubError(400, { error: { message: "m", code: "toString" } }).kind).toBeUndefined();
    expect(readTokenHubError(400, { error: { message: "m", type: "constructor" } }).kind).toBeUndefined();
  });

  it("a Content-Type named like an Object property does not pick the extension", () => {
    expect(mediaTypeOf(undefined, "constructor", "https://x/a.png")).toEqual({ ext: "png", contentType: "image/png" });
    expect(mediaTypeOf(undefined, "__proto__", undefined).ext).toBe("bin");
  });

  it("Retry-After that is neither seconds nor an HTTP date is ignored", () => {
    for (const value of ["-5", "in 5", "soon 1"]) expect(parseRetryAfter(value)).toBeUndefined();
    expect(parseRetryAfter("Sun, 22 Nov 2026 05:00:10 GMT", Date.parse("2026-11-22T05:00:00Z"))).toBe(10_000);
  });

  it("expires_at given as a numeric string is read as epoch seconds", () => {
    const status = readTaskStatus({ status: "completed", expires_at: "1774810944", data: [{ url: "https://x/a.png" }] }, "image");
    expect(status).toMatchObject({ state: "succeeded", outputs: [{ expiresAt: new Date(1774810944 * 1000).toISOString() }] });
  });

  it("a SigV4 URL without X-Amz-Expires has no known expiry", () => {
    expect(urlExpiresAt("https://b.s3.amazonaws.com/k?X-Amz-Date=20260101T000000Z")).toBeUndefined();
  });

  it("REDIS_URL must be a redis:// or rediss:// URL", () => {
    expect(() => loadEnvironment({ REDIS_URL: "localhost:6379" })).toThrow(ConfigError);
    expect(() => loadEnvironment({ REDIS_URL: "localhost:6379" })).toThrow(/REDIS_URL: expected redis:\/\/ or rediss:\/\//);
    expect(loadEnvironment({ REDIS_URL: "rediss://h:6380" }).REDIS_URL).toBe("rediss://h:6380");
  });
});
