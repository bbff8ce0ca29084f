import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue, type Job } from "bullmq";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { getFreePort } from "@kiln/dev-tools";
import { historyOf } from "../../src/webhooks/dead-letter.js";
import type { WebhookJob } from "../../src/queue/webhook-queue.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { verifiedBySvix, WebhookReceiver } from "../support/webhook-receiver.js";

/** What the front does with one request: answer itself (after a delay) or pass it to the receiver. */
type Plan = { status: number; headers?: Record<string, string>; delayMs?: number } | "forward";

/**
 * A misbehaving front for the real receiver: answers with what `plan` says for the n-th request
 * it sees (slow, 3xx, 503 + Retry-After), or forwards it unchanged. Records each request's headers.
 */
class ReceiverFront {
  readonly seen: { headers: Record<string, string>; at: number }[] = [];
  plan: (n: number) => Plan = () => "forward";
  url = "";
  private server?: Server;

  constructor(private readonly target: WebhookReceiver) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readBody(req).then(async (body) => {
        const headers = req.headers as Record<string, string>;
        this.seen.push({ headers, at: Date.now() });
        const plan = this.plan(this.seen.length);
        if (plan === "forward") {
          const answer = await request(this.target.url, { method: "POST", headers: pick(headers), body });
          await answer.body.dump();
          res.writeHead(answer.statusCode).end();
        } else {
          setTimeout(() => res.writeHead(plan.status, plan.headers).end(), plan.delayMs ?? 0);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/front`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function pick(headers: Record<string, string>): Record<string, string> {
  const keep = ["content-type", "webhook-id", "webhook-timestamp", "webhook-signature"];
  return Object.fromEntries(keep.map((k) => [k, headers[k] ?? ""]));
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("webhook delivery rules, end to end", () => {
  const h = new KilnHarness();
  let webhooks: Queue;
  const front = () => new ReceiverFront(h.receiver);
  const attemptsOf = (job: Job) => historyOf(job as WebhookJob);

  beforeAll(async () => {
    // the schedule and the timeout come through the environment, as an operator would set them
    await h.start({ workers: false, env: { KILN_WEBHOOK_RETRY_SCHEDULE: "150ms,300ms,600ms", KILN_WEBHOOK_TIMEOUT_MS: "300" } });
    h.workers = await startKilnWorkers(h.env, createLogger({ level: "silent" }));
    webhooks = new Queue("webhooks", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  });
  afterAll(async () => {
    await webhooks.close();
    await h.close();
  });

  /** Runs a fast generation whose webhook goes to `url`; resolves with the job id. */
  async function generate(url: string): Promise<string> {
    const id = await h.client.enqueue(h.request("hy-image-lite", {}, { webhook: { url } }));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    return id;
  }

  async function delivery(id: string, state: "completed" | "failed"): Promise<Job> {
    const jobId = await h.deliveryIdOf(id);
    await until(async () => ((await webhooks.getJobState(jobId)) === state ? true : undefined), `delivery ${state}`);
    return (await webhooks.getJob(jobId))!;
  }

  it("receiver answering 503, then back: delivered, same webhook-id on every attempt, each signed", async () => {
    let answered = 0;
    h.receiver.status = (d) =>
      d.payload.type === "generation.completed" &&
      (d.payload.data.metadata as Record<string, unknown> | undefined)?.["case"] === "503" &&
      answered++ < 2
        ? 503
        : 204;
    const id = await h.client.enqueue(h.request("hy-image-lite", {}, { metadata: { case: "503" } }));
    const job = await delivery(id, "completed");
    const hooks = h.receiver.of(id);
    expect(hooks.map((r) => r.answeredWith)).toEqual([503, 503, 204]);
    expect(new Set(hooks.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(new Set(hooks.map((r) => r.body)).size).toBe(1);
    for (const hook of hooks) {
      expect(hook.verified).toBe(true);
      expect(verifiedBySvix(hook, h.secret)).toBe(true);
    }
    expect(attemptsOf(job).map((a) => a.status)).toEqual([503, 503, 204]);
    h.receiver.status = () => 204;
  });

  it("503 with Retry-After waits that long instead of the schedule's 150 ms; the timestamp is per attempt", async () => {
    const f = front();
    await f.start();
    try {
      f.plan = (n) => (n === 1 ? { status: 503, headers: { "retry-after": "1" } } : "forward");
      const id = await generate(f.url);
      await delivery(id, "completed");
      const [first, second] = f.seen;
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
      expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
      expect(Number(second!.headers["webhook-timestamp"])).toBeGreaterThan(Number(first!.headers["webhook-timestamp"]));
      expect(h.receiver.of(id)).toHaveLength(1);
      expect(h.receiver.of(id)[0]!.verified).toBe(true);
    } finally {
      await f.stop();
    }
  });

  it("receiver down (connection refused), then up on the same port: delivered with the same webhook-id", async () => {
    const port = await getFreePort();
    const id = await generate(`http://127.0.0.1:${port}/hooks`);
    const jobId = await h.deliveryIdOf(id);
    await until(
      async () => ((await webhooks.getJob(jobId)) && attemptsOf((await webhooks.getJob(jobId))!).length >= 1 ? true : undefined),
      "a first failed attempt",
    );
    const late = new WebhookReceiver(h.secret);
    await late.start(port);
    try {
      const job = await delivery(id, "completed");
      const attempts = attemptsOf(job);
      expect(attempts[0]!.error).toMatch(/ECONNREFUSED/);
      expect(attempts.at(-1)!.status).toBe(204);
      const [hook] = late.of(id);
      expect(hook!.verified).toBe(true);
      expect(hook!.headers["webhook-id"]).toBe((job.data as { messageId: string }).messageId);
    } finally {
      await late.stop();
    }
  });

  it("410 Gone: no more attempts, and the delivery is in the failed set with the reason", async () => {
    h.receiver.status = (d) => ((d.payload.data.metadata as Record<string, unknown> | undefined)?.["case"] === "410" ? 410 : 204);
    const id = await h.client.enqueue(h.request("hy-image-lite", {}, { metadata: { case: "410" } }));
    const job = await delivery(id, "failed");
    expect(job.failedReason).toBe("receiver answered 410 Gone: not retrying");
    expect(job.attemptsMade).toBe(1);
    expect(job.opts.removeOnFail).toBe(false);
    // the whole schedule (150 + 300 + 600 ms, +20%) passes without another attempt
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.receiver.of(id)).toHaveLength(1);
    expect(attemptsOf((await webhooks.getJob(job.id!))!)).toEqual([expect.objectContaining({ status: 410, error: "410 Gone" })]);
    h.receiver.status = () => 204;
  });

  it("a slow receiver times out (300 ms), and the retry succeeds", async () => {
    const f = front();
    await f.start();
    try {
      f.plan = (n) => (n === 1 ? { status: 204, delayMs: 2_000 } : "forward");
      const id = await generate(f.url);
      const job = await delivery(id, "completed");
      const [timedOut, delivered] = attemptsOf(job);
      expect(timedOut).toMatchObject({ error: "no answer within 300 ms" });
      expect(timedOut!.durationMs).toBeLessThan(1_000);
      expect(delivered).toMatchObject({ status: 204 });
      expect(h.receiver.of(id)).toHaveLength(1);
      expect(h.receiver.of(id)[0]!.headers["webhook-id"]).toBe(f.seen[0]!.headers["webhook-id"]);
    } finally {
      await f.stop();
    }
  });

  it("a redirect counts as a failure and its Location is never followed", async () => {
    const f = front();
    await f.start();
    try {
      // the Location is the real receiver: following it would show up there
      f.plan = () => ({ status: 307, headers: { location: h.receiver.url } });
      const id = await generate(f.url);
      const job = await delivery(id, "failed");
      expect(f.seen).toHaveLength(4);
      expect(h.receiver.of(id)).toHaveLength(0);
      expect(attemptsOf(job).map((a) => a.status)).toEqual([307, 307, 307, 307]);
      expect(job.failedReason).toBe("gave up after 4 attempts: receiver answered 307 (redirects are not followed)");
    } finally {
      await f.stop();
    }
  });
});
