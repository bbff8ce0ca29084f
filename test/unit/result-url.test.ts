import { describe, it, expect } from "vitest";
import { urlExpiresAt } from "../../src/providers/result-url.js";

// 1774810944 s since the epoch
const END_ISO = "2026-03-29T19:02:24.000Z";

describe("urlExpiresAt", () => {
  it("reads the end of a Tencent COS q-sign-time", () => {
    const url =
      "https://b-1250000000.cos.ap-guangzhou.myqcloud.com/out/a.png?" +
      "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1774807344;1774810944&q-key-time=1774807344;1774810944&q-signature=abc";
    expect(urlExpiresAt(url)).toBe(END_ISO);
  });

  it("reads a percent-encoded q-sign-time", () => {
    expect(urlExpiresAt("https://h/a.png?q-sign-time=1774807344%3B1774810944")).toBe(END_ISO);
  });

  it("adds X-Amz-Expires to X-Amz-Date for AWS SigV4", () => {
    const url =
      "https://bucket.s3.amazonaws.com/k.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Signature=abc";
    expect(urlExpiresAt(url)).toBe("2026-01-01T01:00:00.000Z");
  });

  it("reads Expires=<epoch seconds>", () => {
    expect(urlExpiresAt("https://cdn.example.com/a.png?Expires=1774810944&Signature=x")).toBe(END_ISO);
  });

  it("is undefined when the URL carries no expiry", () => {
    expect(urlExpiresAt("https://cdn.example.com/a.png")).toBeUndefined();
    expect(urlExpiresAt("https://cdn.example.com/a.png?Expires=tomorrow")).toBeUndefined();
  });

  it("is undefined for an invalid URL", () => {
    expect(urlExpiresAt("not a url")).toBeUndefined();
  });
});
