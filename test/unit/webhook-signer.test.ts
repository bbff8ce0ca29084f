import { createHmac, randomBytes } from "node:crypto";
import { describe, it, expect } from "vitest";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { WebhookSigner } from "../../src/webhooks/webhook-signer.js";

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

describe("WebhookSigner with several secrets", () => {
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

  it("names a bad secret by its place, never by its value", () => {
    expect(() => new WebhookSigner([newest, "whsec_not*base64"])).toThrow("the webhook secret 2 is not whsec_ followed by base64");
    expect(() => new WebhookSigner([])).toThrow(/at least one secret/);
  });
});
