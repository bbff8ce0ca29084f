import { Writable } from "node:stream";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { queueLocationOf } from "../../src/config/index.js";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { secretScrubberOf } from "../../src/config/index.js";
import { DIRECTIVES } from "@kiln/dev-tools";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness, newWebhookSecret, TEST_API_KEY } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";

/** wcode's key is wrong, so the simulator answers 401 and quotes it (as OpenAI does). */
const WRONG_KEY = "sk-wcode-WRONG-0123456789abcdefghijklmnop";
const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
const silent = createLogger({ level: "silent" });

/** True when `text` holds `secret` or any 8-character piece of it. */
function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 8 <= secret.length; i++) if (text.includes(secret.slice(i, i + 8))) return true;
  return false;
}

describe("a provider's echo of kiln's credentials reaches no result, webhook, log, API answer or dashboard", () => {
  const h = new KilnHarness();
  const lines: string[] = [];
  let http: RunningHttpServer;

  beforeAll(async () => {
    await h.start({
      workers: false,
      simulator: { echoKey: "whole" },
      env: { WCODE_API_KEY: WRONG_KEY, KILN_ADMIN_TOKEN: ADMIN_TOKEN, KILN_PUBLIC_READS: "true" },
    });
    const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    // as `kiln worker` makes its logger
    const log = createLogger({ level: "debug", destination, secrets: secretScrubberOf(h.env, h.rawEnv) });
    h.workers = await startKilnWorkers(h.env, log, { webhookSchedule: [100, 200, 400], rawEnv: h.rawEnv });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  /** Every surface that shows the job: the client (`kiln status`), the HTTP API, its webhooks, the dashboard's JSON API. */
  async function surfaces(
    id: string,
    queue: string,
  ): Promise<Record<"client" | "api" | "webhooks" | "dashboard" | "dashboardList" | "logs", string>> {
    await h.receiver.waitFor(() => h.receiver.of(id).some((r) => r.payload.type === "generation.failed"));
    const dashboard = await fetch(`${http.url}/admin/queues/api/queues/${queue}/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const listing = await fetch(`${http.url}/admin/queues/api/queues?activeQueue=${queue}&status=failed&page=1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(dashboard.status).toBe(200);
    return {
      client: JSON.stringify(await h.client.get(id)),
      api: (await call(http.url, "GET", `/v1/generations/${encodeURIComponent(id)}`)).text,
      webhooks: h.receiver
        .of(id)
        .map((r) => r.body)
        .join("\n"),
      dashboard: await dashboard.text(),
      dashboardList: await listing.text(),
      logs: lines.join(""),
    };
  }

  it("a 401 quoting the whole key: the job fails `authentication` with the key replaced everywhere", async () => {
    const id = await h.client.enqueue(h.chatRequest("wcode", "hunyuan-lite"));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("failed");
    expect(status.result?.error).toMatchObject({
      code: "authentication",
      message: expect.stringContaining("Incorrect API key provided: [redacted]"),
    });
    for (const [surface, text] of Object.entries(await surfaces(id, "generate-wcode"))) expect(leaks(text, WRONG_KEY), surface).toBe(false);
    const cli = await kiln(["status", id], h.rawEnv);
    expect(cli.stdout).toContain("[redacted]");
    expect(leaks(cli.stdout, WRONG_KEY)).toBe(false);
  });

  it("a 401 quoting the key masked (first 8 and last 4 characters) shows neither part", async () => {
    h.simulator.configure({ echoKey: "masked" });
    try {
      const id = await h.client.enqueue(h.chatRequest("wcode", "hunyuan-lite"));
      const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
      expect(status.result?.error?.message).toContain("Incorrect API key provided: [redacted]");
      for (const [surface, text] of Object.entries(await surfaces(id, "generate-wcode"))) {
        expect(leaks(text, WRONG_KEY), surface).toBe(false);
        expect(text, surface).not.toContain(WRONG_KEY.slice(-4));
      }
    } finally {
      h.simulator.configure({ echoKey: "whole" });
    }
  });

  it("a task failure reason quoting the key (a 200 answer, not an error) is scrubbed when the worker stores it", async () => {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `quota ${DIRECTIVES.fail}` }));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.result?.error).toMatchObject({ code: "task_failed", message: expect.stringContaining("for API key [redacted]") });
    for (const [surface, text] of Object.entries(await surfaces(id, "generate-tokenhub")))
      expect(leaks(text, TEST_API_KEY), surface).toBe(false);
  });

  it("a request's own webhook.secret is shown nowhere: not by the API, nor by the dashboard's job data or delivery data", async () => {
    const secret = newWebhookSecret();
    const id = await h.client.enqueue(
      h.request("hy-image-v3.0", { prompt: `own ${DIRECTIVES.fail}` }, { webhook: { url: h.receiver.url, secret } }),
    );
    await h.client.waitFor(id, { timeoutMs: 20_000 });
    const shown = await surfaces(id, "generate-tokenhub");
    const job = JSON.parse(shown.dashboard) as { job: { data: { webhook: { secret: string; url: string } } } };
    expect(job.job.data.webhook).toEqual({ url: h.receiver.url, secret: "[redacted]" });
    // the delivery jobs carry the secret to sign with: the webhooks queue's listing must not show it
    const deliveries = await Promise.all(
      ["completed", "failed", "waiting", "delayed"].map(async (state) => {
        const answer = await fetch(`${http.url}/admin/queues/api/queues?activeQueue=webhooks&status=${state}&page=1`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        return answer.text();
      }),
    );
    expect(deliveries.join("\n")).toContain(id);
    for (const [surface, text] of Object.entries({ ...shown, deliveries: deliveries.join("\n") }))
      expect(leaks(text, secret.slice("whsec_".length)), surface).toBe(false);
  });

  it("a request's own webhook.secrets, each of them, are shown nowhere either", async () => {
    const secrets = [newWebhookSecret(), newWebhookSecret()];
    const id = await h.client.enqueue(
      h.request("hy-image-v3.0", { prompt: `own ${DIRECTIVES.fail}` }, { webhook: { url: h.receiver.url, secrets } }),
    );
    await h.client.waitFor(id, { timeoutMs: 20_000 });
    const shown = await surfaces(id, "generate-tokenhub");
    const job = JSON.parse(shown.dashboard) as { job: { data: { webhook: Record<string, unknown> } } };
    expect(job.job.data.webhook).toEqual({ url: h.receiver.url, secrets: "[redacted]" });
    const deliveries = await fetch(`${http.url}/admin/queues/api/queues?activeQueue=webhooks&status=completed&page=1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const listed = await deliveries.text();
    expect(listed).toContain(id);
    for (const [surface, text] of Object.entries({ ...shown, deliveries: listed }))
      for (const secret of secrets) expect(leaks(text, secret.slice("whsec_".length)), surface).toBe(false);
  });
});

describe("a job that already holds a secret (stored before kiln scrubbed provider text) shows none", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  let id: string;

  beforeAll(async () => {
    await h.start({ workers: false, env: { KILN_ADMIN_TOKEN: ADMIN_TOKEN, KILN_PUBLIC_READS: "true" } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
    // what an older kiln stored: the provider's echo of the key as the job's failed reason
    const location = queueLocationOf(h.env);
    const queue = new Queue(generateQueueName("tokenhub"), { connection: { url: h.env.REDIS_URL }, prefix: location.prefix });
    const worker = new Worker(
      queue.name,
      () => Promise.reject(new UnrecoverableError(`authentication: Incorrect API key provided: ${TEST_API_KEY}`)),
      { connection: { url: h.env.REDIS_URL }, prefix: location.prefix },
    );
    const job = await queue.add("generate", h.request("hy-image-v3.0"));
    id = job.id!;
    for (let i = 0; i < 200 && !(await job.isFailed()); i++) await new Promise((r) => setTimeout(r, 50));
    await worker.close();
    await queue.close();
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("the HTTP API, its dashboard and `kiln status` replace it", async () => {
    const api = await call(http.url, "GET", `/v1/generations/${id}`);
    expect(api.body.error).toEqual({ code: "authentication", message: "Incorrect API key provided: [redacted]" });
    const dashboard = await fetch(`${http.url}/admin/queues/api/queues/generate-tokenhub/${id}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const cli = await kiln(["status", id], h.rawEnv);
    expect(cli.stdout).toContain("Incorrect API key provided: [redacted]");
    for (const [surface, text] of Object.entries({ api: api.text, dashboard: await dashboard.text(), cli: cli.stdout }))
      expect(leaks(text, TEST_API_KEY), surface).toBe(false);
  });
});
