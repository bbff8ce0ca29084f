import type { LookupAddress } from "node:dns";
import { describe, it, expect } from "vitest";
import { UnsafeUrlError, assertSafeUrl, guardedLookup, isPublicAddress } from "../../src/net/url-guard.js";

// Complements url-guard.test.ts: the default guardedLookup over the system resolver, and the URL
// checks of the brief (schemes, IP literals, public host names).

describe("guardedLookup (system resolver)", () => {
  const lookup = (options: { all?: boolean }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[] }>((resolve) =>
      guardedLookup("localhost", options, (err, address) => resolve({ err, address })),
    );

  it("refuses localhost with EUNSAFEURL", async () => {
    const { err } = await lookup({});
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err?.code).toBe("EUNSAFEURL");
  });

  it("refuses localhost with all: true too, answering no addresses", async () => {
    const { err, address } = await lookup({ all: true });
    expect(err?.code).toBe("EUNSAFEURL");
    expect(address).toEqual([]);
  });
});

describe("assertSafeUrl", () => {
  it("refuses ftp: even when private URLs are allowed", () => {
    expect(() => assertSafeUrl("ftp://example.com/file", false)).toThrow(UnsafeUrlError);
    expect(() => assertSafeUrl("ftp://example.com/file", true)).toThrow(UnsafeUrlError);
  });

  it.each(["http://127.0.0.1/", "http://[::1]/"])("refuses %s unless allowPrivate", (url) => {
    expect(() => assertSafeUrl(url, false)).toThrow(UnsafeUrlError);
    expect(assertSafeUrl(url, true)).toBeInstanceOf(URL);
  });

  it("allows a public https URL and a public IP literal", () => {
    expect(assertSafeUrl("https://example.com/", false).href).toBe("https://example.com/");
    expect(assertSafeUrl("http://8.8.8.8/", false).hostname).toBe("8.8.8.8");
  });
});

describe("isPublicAddress (brief's list)", () => {
  it.each(["8.8.8.8", "2001:4860:4860::8888"])("allows %s", (a) => expect(isPublicAddress(a)).toBe(true));
  it.each(["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::ffff:8.8.8.8", "not-an-ip"])("refuses %s", (a) =>
    expect(isPublicAddress(a)).toBe(false),
  );
});
