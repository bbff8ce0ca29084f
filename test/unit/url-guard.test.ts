import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LookupAddress } from "node:dns";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertSafeUrl,
  createGuardedLookup,
  createOutboundDispatcher,
  isPublicAddress,
  isUnsafeUrlError,
  type Resolver,
} from "../../src/net/url-guard.js";
import { redactUrl } from "../../src/util/redact-url.js";

/** A resolver that answers each lookup with the next entry, like a DNS server rebinding a name. */
function rebindingResolver(answers: string[][]): Resolver & { calls: number } {
  const resolver = Object.assign(
    async () => {
      const next = answers[Math.min(resolver.calls++, answers.length - 1)] ?? [];
      return next.map((address): LookupAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
    },
    { calls: 0 },
  );
  return resolver;
}

function lookupOnce(
  lookup: ReturnType<typeof createGuardedLookup>,
  host: string,
  all = true,
): Promise<{ err: NodeJS.ErrnoException | null; address: unknown }> {
  return new Promise((resolve) => lookup(host, { all }, (err, address) => resolve({ err, address })));
}

describe("isPublicAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local: cloud metadata"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["::1", "IPv6 loopback"],
    ["fe80::1", "IPv6 link-local"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:8.8.8.8", "IPv4-mapped, even of a public address"],
    ["not an address", "garbage"],
  ])("refuses %s (%s)", (address) => expect(isPublicAddress(address)).toBe(false));

  it.each(["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])("allows %s", (address) => expect(isPublicAddress(address)).toBe(true));
});

describe("isPublicAddress judges IPv6 forms that carry an IPv4 address by that address", () => {
  // Teredo's client address is stored inverted: 127.0.0.1 is 80ff:fffe, 8.8.8.8 is f7f7:f7f7
  it.each([
    ["::127.0.0.1", "IPv4-compatible loopback"],
    ["::7f00:1", "IPv4-compatible loopback, hex"],
    ["::169.254.169.254", "IPv4-compatible metadata address"],
    ["::10.0.0.1", "IPv4-compatible private"],
    ["::ffff:10.0.0.1", "IPv4-mapped private"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:0:7f00:1", "IPv4-translated loopback"],
    ["64:ff9b::127.0.0.1", "NAT64 loopback"],
    ["64:ff9b::a9fe:a9fe", "NAT64 metadata address"],
    ["64:ff9b::192.168.0.1", "NAT64 private"],
    ["64:ff9b:1::10.0.0.1", "local-use NAT64, /96 placement private"],
    ["64:ff9b:1:7f00:1:808:808:0", "local-use NAT64: loopback at the /48 placement, public at /96"],
    ["2002:7f00:1::1", "6to4 via loopback"],
    ["2002:a9fe:a9fe::", "6to4 via the metadata address"],
    ["2001:0:808:808:0:0:80ff:fffe", "Teredo, client 127.0.0.1"],
    ["2001:0:7f00:1:0:0:f7f7:f7f7", "Teredo, server 127.0.0.1"],
  ])("refuses %s (%s)", (address) => expect(isPublicAddress(address)).toBe(false));

  it.each([
    ["::808:808", "IPv4-compatible public (ipaddr.js reads the dotted form ::8.8.8.8 as IPv4-mapped)"],
    ["64:ff9b::8.8.8.8", "NAT64 of a public host (what DNS64 answers)"],
    ["64:ff9b:1:808:8:808:808:0", "local-use NAT64 public at every placement"],
    ["2002:808:808::1", "6to4 via a public relay"],
    ["2001:0:808:808:0:0:f7f7:f7f7", "Teredo, public server and client"],
  ])("allows %s (%s)", (address) => expect(isPublicAddress(address)).toBe(true));

  it.each(["http://[::127.0.0.1]:8080/", "http://[64:ff9b::7f00:1]/", "http://[2002:a9fe:a9fe::]/", "http://[2001:0:808:808::80ff:fffe]/"])(
    "assertSafeUrl refuses the literal %s",
    (url) => expect(() => assertSafeUrl(url, false)).toThrow(/refusing non-public address/),
  );

  it.each([["::7f00:1"], ["64:ff9b::a00:1"], ["2002:c0a8:1::1"], ["2001:0:808:808::80ff:fffe"]])(
    "the guarded lookup refuses a name resolving to %s",
    async (address) => {
      const lookup = createGuardedLookup({ resolve: rebindingResolver([[address]]) });
      const { err } = await lookupOnce(lookup, "embedded.example");
      expect(isUnsafeUrlError(err)).toBe(true);
    },
  );

  it("the guarded lookup lets a DNS64 answer for a public host through", async () => {
    const lookup = createGuardedLookup({ resolve: rebindingResolver([["64:ff9b::808:808"]]) });
    expect((await lookupOnce(lookup, "dns64.example")).err).toBeNull();
  });
});

describe("assertSafeUrl (before any connection)", () => {
  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::1]:8080/",
    "http://2130706433/", // 127.0.0.1 written as one number; WHATWG normalises it
    "http://0x7f.1/",
    "https://10.0.0.5/hooks",
  ])("refuses the IP literal in %s", (url) => expect(() => assertSafeUrl(url, false)).toThrow(/refusing non-public address/));

  it("refuses schemes other than http(s), even when private URLs are allowed", () => {
    expect(() => assertSafeUrl("file:///etc/passwd", true)).toThrow(/file: URLs are not allowed/);
  });

  it("lets host names through: their addresses are checked at connect time", () => {
    expect(assertSafeUrl("http://localhost:1/hooks", false).hostname).toBe("localhost");
  });

  it("allows private literals when told to", () => {
    expect(assertSafeUrl("http://127.0.0.1:1/", true).hostname).toBe("127.0.0.1");
  });

  it("redactUrl drops the query and user info", () => {
    expect(redactUrl("https://user:pw@example.com/hook?token=abc")).toBe("https://example.com/hook?…");
  });
});

describe("createGuardedLookup (the socket's own lookup)", () => {
  it("a rebinding answer (public first, private second) is refused on the second lookup", async () => {
    const resolve = rebindingResolver([["93.184.216.34"], ["10.0.0.7"]]);
    const lookup = createGuardedLookup({ resolve });
    const first = await lookupOnce(lookup, "rebind.example");
    expect(first.err).toBeNull();
    expect(first.address).toEqual([{ address: "93.184.216.34", family: 4 }]);
    const second = await lookupOnce(lookup, "rebind.example");
    expect(isUnsafeUrlError(second.err)).toBe(true);
    expect(second.err?.message).toBe("refusing rebind.example: it resolves to non-public address 10.0.0.7");
  });

  it("refuses a host when any of its addresses is private, since the socket may pick any", async () => {
    const lookup = createGuardedLookup({ resolve: rebindingResolver([["93.184.216.34", "169.254.169.254"]]) });
    expect((await lookupOnce(lookup, "mixed.example")).err?.message).toMatch(/non-public address 169\.254\.169\.254/);
  });

  it("answers in the single-address form when the socket asks for it", async () => {
    const lookup = createGuardedLookup({ resolve: rebindingResolver([["93.184.216.34"]]) });
    expect((await lookupOnce(lookup, "one.example", false)).address).toBe("93.184.216.34");
  });

  it("passes resolver errors through (NXDOMAIN stays a retryable network error)", async () => {
    const err = Object.assign(new Error("getaddrinfo ENOTFOUND nope.example"), { code: "ENOTFOUND" });
    const lookup = createGuardedLookup({ resolve: () => Promise.reject(err) });
    expect((await lookupOnce(lookup, "nope.example")).err).toBe(err);
  });
});

describe("the outbound dispatcher checks every connection's address", () => {
  let server: Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    // connection: close makes every request open a new socket, and so run a new lookup
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(204, { connection: "close" }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("a name rebound to the metadata address after a first good connection is refused before connecting", async () => {
    // 127.0.0.1 stands in for a public address: the tests may connect nowhere else
    const resolve = rebindingResolver([["127.0.0.1"], ["169.254.169.254"]]);
    const dispatcher = createOutboundDispatcher({
      allowPrivate: false,
      resolve,
      isAllowed: (a) => a === "127.0.0.1" || isPublicAddress(a),
    });
    try {
      const before = hits;
      const first = await request(`http://rebind.test:${port}/`, { dispatcher });
      await first.body.dump();
      expect(first.statusCode).toBe(204);
      const second = request(`http://rebind.test:${port}/`, { dispatcher });
      await expect(second).rejects.toMatchObject({ code: "EUNSAFEURL", message: expect.stringContaining("169.254.169.254") });
      expect(resolve.calls).toBe(2);
      expect(hits - before).toBe(1);
    } finally {
      await dispatcher.close();
    }
  });

  it("`localhost` passes the URL check but the default policy refuses it at connect", async () => {
    const dispatcher = createOutboundDispatcher({ allowPrivate: false });
    try {
      const url = assertSafeUrl(`http://localhost:${port}/`, false);
      const before = hits;
      await expect(request(url, { dispatcher })).rejects.toMatchObject({
        code: "EUNSAFEURL",
        message: expect.stringMatching(/refusing localhost: it resolves to non-public address (127\.0\.0\.1|::1)/),
      });
      expect(hits).toBe(before);
    } finally {
      await dispatcher.close();
    }
  });

  it("allowPrivate lifts the check (control: the same URL connects)", async () => {
    const dispatcher = createOutboundDispatcher({ allowPrivate: true });
    try {
      const response = await request(`http://127.0.0.1:${port}/`, { dispatcher });
      await response.body.dump();
      expect(response.statusCode).toBe(204);
    } finally {
      await dispatcher.close();
    }
  });
});
