import { randomUUID } from "node:crypto";
import { Queue, type JobsOptions } from "bullmq";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import type { GenerationProgress } from "../../src/contract/generation-progress.js";
import { eventSubject, WebhookDelivery } from "../../src/contract/webhook-message.js";
import { progressDue, WebhookNotifier } from "../../src/webhooks/webhook-notifier.js";
import type { DELIVER_JOB, DeliveryResult } from "../../src/queue/webhook-queue.js";

const queues: Queue[] = [];
afterAll(async () => {
  await Promise.all(queues.map(async (q) => (await q.obliterate({ force: true }), await q.close())));
});

/** The deliveries a real BullMQ `webhooks` queue holds, oldest first. */
async function jobsOf(queue: Queue): Promise<Array<{ data: unknown; opts: JobsOptions }>> {
  const jobs = await queue.getJobs(["waiting", "prioritized", "delayed"], 0, -1, true);
  return jobs.sort((a, b) => a.timestamp - b.timestamp).map((j) => ({ data: j.data as unknown, opts: j.opts }));
}

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const result: GenerationResult = {
  id: "job-1",
  status: "completed",
  provider: "tokenhub",
  model: "hy-image-v3.0",
  outputs: [],
  timings: { enqueuedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:05.000Z" },
};
const running: GenerationProgress = {
  id: "job-1",
  provider: "tokenhub",
  model: "hy-video-1.5",
  status: "running",
  step: "poll",
  providerStatus: "in_progress",
  progress: 40,
};

/** A notifier on a real BullMQ queue of its own (the run's Redis, a fresh prefix). */
function setup() {
  const queue = new Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>("webhooks", {
    connection: { url: inject("redisUrl") },
    prefix: `{notifier-${randomUUID().slice(0, 8)}}`,
  });
  queues.push(queue);
  return { queue, notifier: new WebhookNotifier(queue) };
}

describe("progressDue", () => {
  it.each([
    [undefined, 1_000, true, "nothing sent yet"],
    [1_000, 1_499, false, "within the interval"],
    [1_000, 1_500, true, "exactly the interval"],
    [1_000, 9_000, true, "long after"],
    [5_000, 1_000, true, "a clock behind the last send does not silence the job"],
  ])("lastSentAt %s, now %s → %s (%s)", (last, now, due, _why) => expect(progressDue(last, now)).toBe(due));

  it("takes another interval", () => {
    expect(progressDue(0, 1_999, 2_000)).toBe(false);
    expect(progressDue(0, 2_000, 2_000)).toBe(true);
  });
});

const SUBJECT = eventSubject("generate-tokenhub", "job-1", 1_000);

describe("WebhookNotifier", () => {
  it("sends completed and failed by default, with a fixed id per event, and nothing without a webhook", async () => {
    const { queue, notifier } = setup();
    expect(await notifier.notify(SUBJECT, undefined, "generation.completed", result, 0)).toBe(false);
    expect(await notifier.notify(SUBJECT, { url: "https://example.com/h" }, "generation.completed", result, 0)).toBe(true);
    expect(await notifier.notify(SUBJECT, { url: "https://example.com/h" }, "generation.completed", result, 5)).toBe(true);
    const jobs = await jobsOf(queue);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job!.opts).toMatchObject({ removeOnFail: false, backoff: { type: "webhook" }, attempts: 21 });
    expect(WebhookDelivery.parse(job!.data).attempts).toEqual([]);
  });

  it("honours the request's event list", async () => {
    const { queue, notifier } = setup();
    expect(
      await notifier.notify(SUBJECT, { url: "https://example.com/h", events: ["generation.failed"] }, "generation.completed", result, 0),
    ).toBe(false);
    expect(await jobsOf(queue)).toHaveLength(0);
  });

  it("sends started and progress only when the request lists them", async () => {
    const { queue, notifier } = setup();
    const plain = { url: "https://example.com/h" };
    expect(await notifier.notifyProgress(SUBJECT, plain, "generation.started", { ...running, step: "submit" }, 1)).toBe(false);
    expect(await notifier.notifyProgress(SUBJECT, plain, "generation.progress", running, 2)).toBe(false);
    expect(await notifier.notifyProgress(SUBJECT, { ...plain, events: ["generation.started"] }, "generation.progress", running, 3)).toBe(
      false,
    );
    expect(await jobsOf(queue)).toHaveLength(0);
  });

  it("started is once per job; each progress event gets its own job id and webhook-id", async () => {
    const { queue, notifier } = setup();
    const webhook = { url: "https://example.com/h", events: ["generation.started" as const, "generation.progress" as const] };
    await notifier.notifyProgress(SUBJECT, webhook, "generation.started", { ...running, step: "submit" }, 1_000);
    await notifier.notifyProgress(SUBJECT, webhook, "generation.started", { ...running, step: "submit" }, 2_000);
    await notifier.notifyProgress(SUBJECT, webhook, "generation.progress", running, 3_000);
    await notifier.notifyProgress(SUBJECT, webhook, "generation.progress", { ...running, progress: 60 }, 4_000);
    await notifier.notifyProgress(SUBJECT, webhook, "generation.progress", { ...running, progress: 60 }, 4_500, 4_000); // a repeat of the same event
    const deliveries = (await jobsOf(queue)).map((j) => WebhookDelivery.parse(j.data));
    expect(deliveries.map((d) => d.payload.type)).toEqual(["generation.started", "generation.progress", "generation.progress"]);
    expect(new Set(deliveries.map((d) => d.messageId)).size).toBe(3);
    expect(deliveries[1]!.payload).toEqual({ type: "generation.progress", timestamp: new Date(3_000).toISOString(), data: running });
  });

  it("carries the request's secret in the job data, never in the body", async () => {
    const { queue, notifier } = setup();
    await notifier.notify(SUBJECT, { url: "https://example.com/h", secret: SECRET }, "generation.completed", result, 0);
    const [job] = await jobsOf(queue);
    const delivery = WebhookDelivery.parse(job!.data);
    expect(delivery.secret).toBe(SECRET);
    expect(JSON.stringify(delivery.payload)).not.toContain(SECRET.slice(6));
  });

  it("refuses a progress record that is not one (the union is checked before add)", async () => {
    const { notifier } = setup();
    const webhook = { url: "https://example.com/h", events: ["generation.progress" as const] };
    await expect(
      notifier.notifyProgress(
        SUBJECT,
        webhook,
        "generation.progress",
        { ...running, status: "completed" } as unknown as GenerationProgress,
        0,
      ),
    ).rejects.toThrow();
  });
});
