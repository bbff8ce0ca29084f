import { describe, expect, it } from "vitest";
import { checkProviderUrls, redisOutcome } from "../../src/workers/start-up-checks.js";

describe("the Redis verdict of start-up checks", () => {
  it("passes a current Redis with noeviction", () => {
    expect(redisOutcome("r:6379", "7.0.15", "noeviction")).toMatchObject({
      status: "ok",
      detail: "Redis 7.0.15, maxmemory-policy noeviction",
    });
  });

  it("fails a server older than BullMQ's minimum (5.0.0), and any evicting policy", () => {
    expect(redisOutcome("r:6379", "4.0.14", "noeviction")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("BullMQ needs Redis 5.0.0"),
    });
    for (const policy of ["allkeys-lru", "volatile-lru", "allkeys-random", "volatile-ttl"])
      expect(redisOutcome("r:6379", "7.2.4", policy)).toMatchObject({
        status: "fail",
        detail: expect.stringContaining("set maxmemory-policy noeviction"),
      });
  });

  it("warns below BullMQ's recommended 6.2.0, and when INFO does not say", () => {
    expect(redisOutcome("r:6379", "6.0.16", "noeviction")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("recommends 6.2.0"),
    });
    expect(redisOutcome("r:6379", "6.2.0", "noeviction").status).toBe("ok");
    expect(redisOutcome("r:6379", undefined, "noeviction")).toMatchObject({ status: "warn", detail: expect.stringContaining("unchecked") });
    expect(redisOutcome("r:6379", "7.0.0", undefined)).toMatchObject({ status: "warn", detail: expect.stringContaining("unchecked") });
  });
});

describe("the provider base URLs of start-up checks", () => {
  const resolver = (table: Record<string, string[]>) => async (host: string) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return addresses;
  };
  const dns = resolver({
    "api.example.com": ["93.184.216.34"],
    "sim.internal": ["10.0.0.7"],
    "mixed.example.com": ["93.184.216.34", "192.168.1.9"],
  });

  it("a public host is ok, a host that resolves to a private address warns naming the address, unless private URLs are allowed", async () => {
    const bases = [
      { provider: "tokenhub", baseUrl: "https://api.example.com" },
      { provider: "gateway", baseUrl: "http://sim.internal:8080/gateway" },
      { provider: "wcode", baseUrl: "http://mixed.example.com" },
    ];
    const strict = await checkProviderUrls(bases, false, dns);
    expect(strict.map((o) => o.status)).toEqual(["ok", "warn", "warn"]);
    expect(strict[1]!.detail).toMatch(/^gateway's base URL is on a private address \(10\.0\.0\.7\).*KILN_ALLOW_PRIVATE_URLS=true/);
    expect(strict[2]!.detail).toContain("(192.168.1.9)");
    const allowed = await checkProviderUrls(bases, true, dns);
    expect(allowed.map((o) => o.status)).toEqual(["ok", "ok", "ok"]);
    expect(allowed[1]!.detail).toBe("sim.internal: private (10.0.0.7), allowed by KILN_ALLOW_PRIVATE_URLS");
  });

  it("an IP literal is judged without a lookup; a host that does not resolve warns", async () => {
    const [literal, v6, unknown] = await checkProviderUrls(
      [
        { provider: "tokenhub", baseUrl: "http://127.0.0.1:9000" },
        { provider: "tokenhub", baseUrl: "http://[::1]:9000" },
        { provider: "wcode", baseUrl: "https://nowhere.invalid" },
      ],
      false,
      dns,
    );
    expect(literal).toMatchObject({ status: "warn", target: "tokenhub http://127.0.0.1:9000" });
    expect(v6!.detail).toContain("(::1)");
    expect(unknown).toMatchObject({ status: "warn", detail: expect.stringMatching(/^nowhere\.invalid does not resolve \(.*ENOTFOUND/) });
  });
});
