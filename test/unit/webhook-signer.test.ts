import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import { describe, it, expect } from "vitest";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { WebhookSigner } from "../../src/webhooks/webhook-signer.js";
import { parseSigningKey, type WebhookSigningKey } from "../../src/contract/webhook-signing-key.js";

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const body = JSON.stringify({ type: "generation.completed", timestamp: "2026-01-01T00:00:00.000Z", data: { jobId: "job-1" } });
const svixHeaders = (h: ReturnType<WebhookSigner["sign"]>) => ({
  "svix-id": h["webhook-id"],
  "svix-timestamp": h["webhook-timestamp"],
  "svix-signature": h["webhook-signature"],
});

describe("WebhookSigner", () => {
  it("signs headers that standardwebhooks verifies", () => {
    const headers = new WebhookSigner(secret).sign("msg_abc", body);
    expect(new StandardWebhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it("signs headers that svix verifies", () => {
    const headers = new WebhookSigner(secret).sign("msg_abc", body);
    expect(new SvixWebhook(secret).verify(body, svixHeaders(headers))).toEqual(JSON.parse(body));
  });

  it("fails verification for a tampered body or another secret", () => {
    const headers = new WebhookSigner(secret).sign("msg_abc", body);
    const tampered = body.replace("job-1", "job-2");
    expect(() => new StandardWebhook(secret).verify(tampered, { ...headers })).toThrow();
    expect(() => new SvixWebhook(secret).verify(tampered, svixHeaders(headers))).toThrow();
    const other = `whsec_${randomBytes(24).toString("base64")}`;
    expect(() => new StandardWebhook(other).verify(body, { ...headers })).toThrow();
  });

  it("sets webhook-id and webhook-timestamp (seconds) from its arguments", () => {
    const at = new Date("2026-01-01T00:00:00.750Z");
    const headers = new WebhookSigner(secret).sign("msg_abc", body, at);
    expect(headers["webhook-id"]).toBe("msg_abc");
    expect(headers["webhook-timestamp"]).toBe("1767225600");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });
});

describe("WebhookSigner's secrets", () => {
  it("refuses a secret that is not base64, as standardwebhooks does", () => {
    expect(() => new WebhookSigner("whsec_not*base64")).toThrow(/not whsec_ followed by base64/);
    expect(() => new WebhookSigner("whsec_")).toThrow(/not whsec_ followed by base64/);
  });

  it("signs with a secret given without its whsec_ prefix like with it", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    const bare = secret.slice("whsec_".length);
    expect(new WebhookSigner(bare).sign("msg_abc", body, at)).toEqual(new WebhookSigner(secret).sign("msg_abc", body, at));
  });
});

/** A `whsk_` key as Standard Webhooks (Svix) writes one: the 32-byte seed, then the 32-byte public key. */
function newSigningKey(): { whsk: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const bytes = Buffer.concat([Buffer.from(jwk.d!, "base64url"), Buffer.from(jwk.x!, "base64url")]);
  return { whsk: `whsk_${bytes.toString("base64")}`, publicKey };
}

/** The key a receiver builds from a `whpk_` public key. */
function publicKeyOf(whpk: string): KeyObject {
  const x = Buffer.from(whpk.slice("whpk_".length), "base64").toString("base64url");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
}

function signingKey(whsk: string): WebhookSigningKey {
  const parsed = parseSigningKey(whsk);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.key;
}

describe("WebhookSigner with several secrets and v1a keys", () => {
  const [newest, older, oldest] = [0, 1, 2].map(() => `whsec_${randomBytes(32).toString("base64")}`) as [string, string, string];
  const at = new Date("2026-01-01T00:00:00Z");
  const hmac = (secret: string, timestamp: string) =>
    createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
      .update(`msg_abc.${timestamp}.${body}`)
      .digest("base64");

  it("emits one v1 signature per secret, space-separated, in the order given (newest first)", () => {
    const headers = new WebhookSigner([newest, older, oldest]).sign("msg_abc", body, at);
    const t = headers["webhook-timestamp"];
    expect(headers["webhook-signature"]).toBe(`v1,${hmac(newest, t)} v1,${hmac(older, t)} v1,${hmac(oldest, t)}`);
  });

  it("is verified by standardwebhooks and svix with any one of the secrets alone, and not with another", () => {
    const headers = new WebhookSigner([newest, older]).sign("msg_abc", body);
    for (const secret of [newest, older]) {
      expect(new StandardWebhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
      expect(new SvixWebhook(secret).verify(body, svixHeaders(headers))).toEqual(JSON.parse(body));
    }
    expect(() => new StandardWebhook(oldest).verify(body, { ...headers })).toThrow();
    expect(() => new SvixWebhook(oldest).verify(body, svixHeaders(headers))).toThrow();
  });

  it("adds one v1a (Ed25519) signature per key after the v1s, each verified by node's crypto with its whpk_ public key", () => {
    const keys = [newSigningKey(), newSigningKey()];
    const parsed = keys.map((k) => signingKey(k.whsk));
    // the whpk_ key is the public half of the whsk_ key, as Standard Webhooks encodes it
    parsed.forEach((key, i) =>
      expect(Buffer.from(key.publicKey.slice("whpk_".length), "base64")).toEqual(
        Buffer.from(String(keys[i]!.publicKey.export({ format: "jwk" }).x), "base64url"),
      ),
    );
    const headers = new WebhookSigner([newest], parsed).sign("msg_abc", body, at);
    const entries = headers["webhook-signature"].split(" ");
    expect(entries.map((e) => e.slice(0, e.indexOf(",")))).toEqual(["v1", "v1a", "v1a"]);
    const content = Buffer.from(`msg_abc.${headers["webhook-timestamp"]}.${body}`);
    entries.slice(1).forEach((entry, i) => {
      const signature = Buffer.from(entry.slice("v1a,".length), "base64");
      expect(signature).toHaveLength(64);
      expect(verify(null, content, publicKeyOf(parsed[i]!.publicKey), signature)).toBe(true);
      expect(verify(null, content, publicKeyOf(parsed[1 - i]!.publicKey), signature)).toBe(false);
      expect(verify(null, Buffer.from(`${content.toString()} `), publicKeyOf(parsed[i]!.publicKey), signature)).toBe(false);
    });
    // the v1a entries do not stand in the way of v1 verifiers
    const now = new WebhookSigner([newest], parsed).sign("msg_abc", body);
    expect(new StandardWebhook(newest).verify(body, { ...now })).toEqual(JSON.parse(body));
    expect(new SvixWebhook(newest).verify(body, svixHeaders(now))).toEqual(JSON.parse(body));
  });

  it("names a bad secret by its place, never by its value", () => {
    expect(() => new WebhookSigner([newest, "whsec_not*base64"])).toThrow("the webhook secret 2 is not whsec_ followed by base64");
    expect(() => new WebhookSigner([])).toThrow(/at least one secret/);
  });
});

describe("parseSigningKey (whsk_)", () => {
  const { whsk } = newSigningKey();
  const bytes = Buffer.from(whsk.slice("whsk_".length), "base64");

  it.each([
    ["no whsk_ prefix", bytes.toString("base64")],
    ["a whsec_ secret", `whsec_${bytes.toString("base64")}`],
    ["the 32-byte seed alone", `whsk_${bytes.subarray(0, 32).toString("base64")}`],
    ["not base64", `whsk_${bytes.toString("base64").replace(/.$/, "*")}`],
  ])("refuses %s, without quoting it", (_what, text) => {
    const parsed = parseSigningKey(text);
    expect(parsed).toEqual({ problem: "expected whsk_ followed by the base64 of a 64 byte Ed25519 secret key" });
  });

  it("refuses a key whose public half is not its seed's", () => {
    const other = Buffer.from(newSigningKey().whsk.slice("whsk_".length), "base64").subarray(32);
    const parsed = parseSigningKey(`whsk_${Buffer.concat([bytes.subarray(0, 32), other]).toString("base64")}`);
    expect(parsed).toEqual({ problem: "its last 32 bytes are not the public key of its first 32 (the seed)" });
  });
});
