import { randomUUID } from "node:crypto";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createLogger } from "../../src/logger.js";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { assertSafeUrl, createOutboundDispatcher } from "../../src/net/url-guard.js";
import { deliveryJobId, eventSubject, type DeliveryAttempt, type WebhookDelivery } from "../../src/contract/webhook-message.js";
import { WebhookNotifier } from "../../src/webhooks/webhook-notifier.js";
import { WebhookWorker } from "../../src/webhooks/webhook-worker.js";
import { cleanPrefix, newWebhookSecret } from "../support/kiln-harness.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import type { DELIVER_JOB, DeliveryResult } from "../../src/queue/webhook-queue.js";

/** A webhook worker with its own queue prefix, Redis connection and outbound agent. */
async function startDelivery(allowPrivateUrls: boolean, secret: string) {
  const prefix = `{kiln-${randomUUID().slice(0, 8)}}`;
  const connection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const dispatcher = createOutboundDispatcher({ allowPrivate: allowPrivateUrls });
  const worker = new WebhookWorker({
    connection,
    prefix,
    secrets: [secret],
    dispatcher,
    allowPrivateUrls,
    log: createLogger({ level: "silent" }),
    schedule: [100, 200, 400],
  });
  const queue = new Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>("webhooks", { connection, prefix });
  const notifier = new WebhookNotifier(queue);
  return {
    queue,
    notifier,
    async close() {
      await worker.close();
      await queue.close();
      await dispatcher.close();
      await connection.quit();
      await cleanPrefix(inject("redisUrl"), prefix);
    },
  };
}

function resultFor(id: string): GenerationResult {
  const now = new Date().toISOString();
  return {
    id,
    status: "completed",
    provider: "tokenhub",
    model: "hy-image-lite",
    outputs: [],
    timings: { enqueuedAt: now, finishedAt: now },
  };
}

async function settled(queue: Queue, jobId: string): Promise<Job> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await queue.getJobState(jobId);
    if (state === "completed" || state === "failed") return (await queue.getJob(jobId))!;
    if (Date.now() > deadline) throw new Error(`delivery ${jobId} still ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("webhook targets are checked against private addresses (KILN_ALLOW_PRIVATE_URLS=false)", () => {
  const secret = newWebhookSecret();
  const receiver = new WebhookReceiver(secret);
  let strict: Awaited<ReturnType<typeof startDelivery>>;
  let port = 0;

  beforeAll(async () => {
    await receiver.start();
    port = Number(new URL(receiver.url).port);
    strict = await startDelivery(false, secret);
  });
  afterAll(async () => {
    await strict.close();
    await receiver.stop();
  });

  /** Sends a completed event for a fresh job id to `url` and waits for the delivery to settle. */
  async function deliver(d: Awaited<ReturnType<typeof startDelivery>>, url: string): Promise<{ id: string; job: Job }> {
    const id = `job-${randomUUID().slice(0, 8)}`;
    const subject = eventSubject("generate-tokenhub", id, 0);
    await d.notifier.notify(subject, { url }, "generation.completed", resultFor(id), Date.now());
    return { id, job: await settled(d.queue, deliveryJobId(subject, "generation.completed")) };
  }

  it("the cloud metadata address is refused before connecting, permanently, after one attempt", async () => {
    const { job } = await deliver(strict, "http://169.254.169.254/latest/meta-data/");
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toBe("refused target: refusing non-public address 169.254.169.254");
    expect(job.attemptsMade).toBe(1);
    const attempts = (job.data as { attempts: DeliveryAttempt[] }).attempts;
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.status).toBeUndefined();
  });

  it("DNS-rebinding style: a name that passes the URL check is refused at connect, and nothing reaches the receiver", async () => {
    const url = `http://localhost:${port}/hooks`;
    expect(() => assertSafeUrl(url, false)).not.toThrow();
    const before = receiver.received.length;
    const { job } = await deliver(strict, url);
    expect(job.failedReason).toMatch(/^refused target: refusing localhost: it resolves to non-public address (127\.0\.0\.1|::1)$/);
    expect(job.attemptsMade).toBe(1);
    expect(receiver.received.length).toBe(before);
  });

  it("an IPv4-mapped IPv6 literal is refused", async () => {
    const { job } = await deliver(strict, `http://[::ffff:127.0.0.1]:${port}/hooks`);
    expect(job.failedReason).toBe("refused target: refusing non-public address ::ffff:7f00:1");
  });

  it("control: with private URLs allowed, the same localhost URL is delivered", async () => {
    const open = await startDelivery(true, secret);
    try {
      const { id, job } = await deliver(open, `http://localhost:${port}/hooks`);
      expect(await job.getState()).toBe("completed");
      expect(receiver.of(id)).toHaveLength(1);
      expect(receiver.of(id)[0]!.verified).toBe(true);
    } finally {
      await open.close();
    }
  });
});
