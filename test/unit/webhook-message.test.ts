import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { describeIssues, GenerationRequest } from "../../src/contract/generation-request.js";
import { generationProgress } from "../../src/contract/generation-progress.js";
import { deliveryJobId, messageIdFor, WebhookPayload } from "../../src/contract/webhook-message.js";
import { WebhookSecret } from "../../src/contract/webhook-secret.js";

const result = {
  id: "j",
  status: "completed",
  provider: "tokenhub",
  model: "m",
  outputs: [],
  timings: { enqueuedAt: "t", finishedAt: "t" },
};
const progress = { id: "j", provider: "tokenhub", model: "m", status: "running", step: "poll", progress: 10 };

describe("WebhookPayload is discriminated on type", () => {
  it("results for completed/failed, the small progress record for started/progress", () => {
    expect(WebhookPayload.safeParse({ type: "generation.completed", timestamp: "t", data: result }).success).toBe(true);
    expect(WebhookPayload.safeParse({ type: "generation.progress", timestamp: "t", data: progress }).success).toBe(true);
    expect(WebhookPayload.safeParse({ type: "generation.started", timestamp: "t", data: { ...progress, step: "submit" } }).success).toBe(
      true,
    );
  });

  it("refuses a data shape that does not match its type", () => {
    expect(WebhookPayload.safeParse({ type: "generation.completed", timestamp: "t", data: progress }).success).toBe(false);
    expect(WebhookPayload.safeParse({ type: "generation.progress", timestamp: "t", data: result }).success).toBe(false);
    expect(WebhookPayload.safeParse({ type: "generation.exploded", timestamp: "t", data: result }).success).toBe(false);
  });
});

describe("ids", () => {
  it("webhook-id is stable per (job, event) and unchanged from v1 for result events", () => {
    const v1 = `msg_${createHash("sha256").update("job-1\ngeneration.completed").digest("hex").slice(0, 32)}`;
    expect(messageIdFor("job-1", "generation.completed")).toBe(v1);
    expect(messageIdFor("job-1", "generation.failed")).not.toBe(v1);
  });

  it("a sequence tells progress events apart, in both ids", () => {
    expect(messageIdFor("j", "generation.progress", 1)).not.toBe(messageIdFor("j", "generation.progress", 2));
    expect(deliveryJobId("j", "generation.progress", 1)).not.toBe(deliveryJobId("j", "generation.progress", 2));
    expect(deliveryJobId("j", "generation.progress", 1)).not.toContain(":");
  });
});

describe("webhook.secret", () => {
  const good = `whsec_${Buffer.alloc(24, 1).toString("base64")}`;

  it.each([
    ["whsec_", "empty"],
    ["sk_live_abc", "not whsec_"],
    [`whsec_${Buffer.alloc(8, 1).toString("base64")}`, "too short a key"],
    [`whsec_${Buffer.alloc(65, 1).toString("base64")}`, "too long a key"],
    ["whsec_abc$def", "not base64"],
    ["whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY=", "bad padding"],
  ])("refuses %s (%s)", (secret) => expect(WebhookSecret.safeParse(secret).success).toBe(false));

  it("accepts whsec_ + base64 of 24-64 bytes", () => {
    expect(WebhookSecret.safeParse(good).success).toBe(true);
    expect(WebhookSecret.safeParse(`whsec_${Buffer.alloc(64, 2).toString("base64")}`).success).toBe(true);
  });

  it("is part of the request's webhook, and its error names the field without echoing the value", () => {
    const request = {
      provider: "tokenhub",
      model: "m",
      input: {},
      webhook: { url: "https://example.com/h", secret: "whsec_short-and-secret" },
    };
    const parsed = GenerationRequest.safeParse(request);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(["webhook", "secret"]);
    expect(JSON.stringify(parsed.error!.issues)).not.toContain("short-and-secret");
    expect(GenerationRequest.parse({ ...request, webhook: { url: "https://example.com/h", secret: good } }).webhook?.secret).toBe(good);
  });
});

describe("webhook.secrets", () => {
  const secrets = [1, 2, 3, 4, 5, 6].map((n) => `whsec_${Buffer.alloc(32, n).toString("base64")}`);
  const request = (webhook: Record<string, unknown>) => ({
    provider: "tokenhub",
    model: "m",
    input: {},
    webhook: { url: "https://example.com/h", ...webhook },
  });
  /** The `field: message` lines the request's refusal reads, checked to quote no secret. */
  const refusal = (webhook: Record<string, unknown>): string => {
    const parsed = GenerationRequest.safeParse(request(webhook));
    expect(parsed.success).toBe(false);
    const text = describeIssues(parsed.error!);
    for (const s of secrets) expect(text).not.toContain(s.slice(6, 22));
    return text;
  };

  it("takes 1 to 5 secrets, newest first, kept in order", () => {
    expect(GenerationRequest.parse(request({ secrets: secrets.slice(0, 2) })).webhook?.secrets).toEqual(secrets.slice(0, 2));
    expect(GenerationRequest.parse(request({ secrets: secrets.slice(0, 5) })).webhook?.secrets).toHaveLength(5);
    expect(refusal({ secrets: secrets })).toBe("webhook.secrets: expected at most 5 secrets");
    expect(refusal({ secrets: [] })).toBe("webhook.secrets: expected at least one secret");
  });

  it("names a bad one by its index, without echoing it", () => {
    expect(refusal({ secrets: [secrets[0], `whsec_${secrets[1]!.slice(6, 22)}`] })).toBe(
      "webhook.secrets.1: expected whsec_ followed by the base64 of a 24-64 byte key",
    );
  });

  it("refuses secret and secrets together, naming the field", () => {
    expect(refusal({ secret: secrets[0], secrets: [secrets[1]] })).toBe(
      "webhook.secrets: give webhook.secret or webhook.secrets, not both",
    );
  });
});

describe("generationProgress", () => {
  it("builds the small record, leaving absent fields out", () => {
    expect(generationProgress({ id: "j", provider: "tokenhub", model: "m" }, { step: "submit" })).toEqual({
      id: "j",
      provider: "tokenhub",
      model: "m",
      status: "running",
      step: "submit",
    });
    expect(
      generationProgress(
        { id: "j", provider: "p", model: "m", metadata: { a: 1 } },
        { step: "poll", providerStatus: "in_progress", progress: 17 },
      ),
    ).toEqual({
      id: "j",
      provider: "p",
      model: "m",
      status: "running",
      step: "poll",
      providerStatus: "in_progress",
      progress: 17,
      metadata: { a: 1 },
    });
  });
});
