import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { createOutboundDispatcher } from "../../src/net/url-guard.js";
import type { GenerationProgress } from "../../src/contract/generation-progress.js";
import { WebhookPayload, eventSubject } from "../../src/contract/webhook-message.js";
import { progressDue, WebhookNotifier } from "../../src/webhooks/webhook-notifier.js";
import { WebhookWorker } from "../../src/webhooks/webhook-worker.js";
import { cleanPrefix, newWebhookSecret } from "../support/kiln-harness.js";
import { verifiedBySvix, WebhookReceiver } from "../support/webhook-receiver.js";
import type { WebhookDelivery } from "../../src/contract/webhook-message.js";
import type { DELIVER_JOB, DeliveryResult, WebhookQueue } from "../../src/queue/webhook-queue.js";

describe("generation.started and generation.progress are sent only when requested", () => {
  const secret = newWebhookSecret();
  const prefix = `{kiln-${randomUUID().slice(0, 8)}}`;
  const receiver = new WebhookReceiver(secret);
  const dispatcher = createOutboundDispatcher({ allowPrivate: true });
  let connection: Redis;
  let queue: WebhookQueue;
  let worker: WebhookWorker;
  let notifier: WebhookNotifier;

  beforeAll(async () => {
    await receiver.start();
    connection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    worker = new WebhookWorker({
      connection,
      prefix,
      secrets: [secret],
      dispatcher,
      allowPrivateUrls: true,
      log: createLogger({ level: "silent" }),
      schedule: [100, 200, 400],
    });
    queue = new Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>("webhooks", { connection, prefix });
    notifier = new WebhookNotifier(queue);
  });
  afterAll(async () => {
    await worker.close();
    await queue.close();
    await dispatcher.close();
    await connection.quit();
    await receiver.stop();
    await cleanPrefix(inject("redisUrl"), prefix);
  });

  const running = (id: string, progress?: number): GenerationProgress => ({
    id,
    provider: "tokenhub",
    model: "hy-video-1.5",
    status: "running",
    step: progress === undefined ? "submit" : "poll",
    providerStatus: "in_progress",
    progress,
    metadata: { order: 42 },
  });

  it("a webhook without those events gets neither", async () => {
    const id = `job-${randomUUID().slice(0, 8)}`;
    const webhook = { url: receiver.url };
    expect(
      await notifier.notifyProgress(eventSubject("generate-tokenhub", id, 0), webhook, "generation.started", running(id), Date.now()),
    ).toBe(false);
    expect(
      await notifier.notifyProgress(
        eventSubject("generate-tokenhub", id, 0),
        { ...webhook, events: ["generation.completed" as const] },
        "generation.progress",
        running(id, 10),
        Date.now(),
      ),
    ).toBe(false);
    const counts = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed");
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("started once per job, one progress per throttled update, each with its own webhook-id, signed", async () => {
    const id = `job-${randomUUID().slice(0, 8)}`;
    const webhook = {
      url: receiver.url,
      events: ["generation.started" as const, "generation.progress" as const, "generation.completed" as const],
    };
    const t0 = Date.now();
    await notifier.notifyProgress(eventSubject("generate-tokenhub", id, 0), webhook, "generation.started", running(id), t0);
    await notifier.notifyProgress(eventSubject("generate-tokenhub", id, 0), webhook, "generation.started", running(id), t0 + 5); // a re-run of the same step
    // a poll loop: updates every 200 ms, throttled to one per 500 ms
    let lastSent: number | undefined;
    for (let at = t0; at <= t0 + 1_800; at += 200) {
      if (!progressDue(lastSent, at)) continue;
      await notifier.notifyProgress(
        eventSubject("generate-tokenhub", id, 0),
        webhook,
        "generation.progress",
        running(id, Math.round((at - t0) / 20)),
        at,
      );
      lastSent = at;
    }
    await receiver.waitFor(() => receiver.of(id).length === 5, 10_000);
    const hooks = receiver.of(id);
    expect(hooks.filter((r) => r.payload.type === "generation.started")).toHaveLength(1);
    expect(
      hooks
        .filter((r) => r.payload.type === "generation.progress")
        .map((r) => r.payload.data["progress"])
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual([0, 30, 60, 90]);
    expect(new Set(hooks.map((r) => r.headers["webhook-id"])).size).toBe(5);
    for (const hook of hooks) {
      expect(hook.verified).toBe(true);
      expect(verifiedBySvix(hook, secret)).toBe(true);
      const payload = WebhookPayload.parse(JSON.parse(hook.body));
      expect(payload.data).toMatchObject({ id, status: "running", metadata: { order: 42 } });
      expect(hook.body.length).toBeLessThan(400);
    }
  });
});
