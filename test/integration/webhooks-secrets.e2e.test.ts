import { Writable } from "node:stream";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { DIRECTIVES } from "@kiln/dev-tools";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { KilnHarness, newWebhookSecret, TEST_API_KEY } from "../support/kiln-harness.js";
import { verifiedBySvix, type ReceivedWebhook } from "../support/webhook-receiver.js";

function verifiedWith(secret: string, hook: ReceivedWebhook): boolean {
  try {
    new Webhook(secret).verify(hook.body, hook.headers);
    return true;
  } catch {
    return false;
  }
}

describe("per-request webhook secrets, and no secret in any log line", () => {
  const h = new KilnHarness();
  const requestSecret = newWebhookSecret();
  const lines: string[] = [];
  // moto accepts any key pair; its conventional "test" would match every line, so use a findable one
  const s3Secret = inject("s3").secretAccessKey === "test" ? `s3-secret-${Date.now()}-probe` : inject("s3").secretAccessKey;
  let calls = 0;

  beforeAll(async () => {
    await h.start({ workers: false, env: { S3_SECRET_ACCESS_KEY: s3Secret } });
    const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    h.workers = await startKilnWorkers(h.env, createLogger({ level: "debug", destination }), { webhookSchedule: [100, 200, 400] });
    // the first delivery of each job fails, so retry and failure paths log too
    const seen = new Set<string>();
    h.receiver.status = (d) => (seen.has(d.headers["webhook-id"] ?? "") ? 204 : (seen.add(d.headers["webhook-id"] ?? ""), 503));
  });
  afterAll(() => h.close());

  it("a request's own secret signs its deliveries: verified with it by standardwebhooks and svix, not with the global one", async () => {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", {}, { webhook: { url: h.receiver.url, secret: requestSecret } }));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    await h.receiver.waitFor(() => h.receiver.of(id).some((r) => r.answeredWith === 204));
    calls++;
    for (const hook of h.receiver.of(id)) {
      expect(verifiedWith(requestSecret, hook)).toBe(true);
      expect(verifiedBySvix(hook, requestSecret)).toBe(true);
      expect(hook.verified).toBe(false); // the receiver checks with KILN_WEBHOOK_SECRET
      expect(verifiedBySvix(hook, h.secret)).toBe(false);
      for (const secret of [requestSecret, h.secret]) expect(hook.body).not.toContain(secret.slice("whsec_".length));
    }
  });

  it("without one, the global secret signs (and the failed event carries no secret either)", async () => {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `no ${DIRECTIVES.fail}` }));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("failed");
    await h.receiver.waitFor(() => h.receiver.of(id).some((r) => r.answeredWith === 204));
    calls++;
    const hook = h.receiver.of(id).at(-1)!;
    expect(hook.payload.type).toBe("generation.failed");
    expect(hook.verified).toBe(true);
    expect(verifiedWith(requestSecret, hook)).toBe(false);
  });

  it("a whole run at LOG_LEVEL=debug logs neither the API key, the webhook secrets nor the S3 secret key", async () => {
    expect(calls).toBe(2); // the runs above happened, with their retries
    await new Promise((r) => setTimeout(r, 200));
    const log = lines.join("");
    expect(log).toContain('"level":20'); // debug lines were written: the capture is live
    expect(log).toContain("webhook attempt");
    expect(log).toContain("archived output");
    for (const [name, secret] of Object.entries({
      TOKENHUB_API_KEY: TEST_API_KEY,
      KILN_WEBHOOK_SECRET: h.secret,
      "webhook.secret": requestSecret,
      S3_SECRET_ACCESS_KEY: s3Secret,
    })) {
      expect(log.includes(secret), `${name} appears in the logs`).toBe(false);
      if (secret.startsWith("whsec_"))
        expect(log.includes(secret.slice("whsec_".length)), `${name} (base64 part) appears in the logs`).toBe(false);
    }
  });
});
