import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { Queue } from "bullmq";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });
const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
/** Debian's chromium package (`.ci/run` installs it); playwright's own browser downloads do not work here. */
const CHROMIUM = process.env.KILN_TEST_CHROMIUM ?? "/usr/bin/chromium";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("the dashboard at /admin/queues (bull-board behind KILN_ADMIN_TOKEN)", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  let failedId: string;
  let failedReason: string;

  beforeAll(async () => {
    await h.start({ env: { KILN_ADMIN_TOKEN: ADMIN_TOKEN } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
    // a job that fails with a coded reason: a model kiln does not know, sent around kiln's client
    const queue = new Queue(generateQueueName("tokenhub"), { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    const job = await queue.add("generate", { provider: "tokenhub", model: "no-such-model", input: { prompt: "dashboard" } });
    failedId = job.id!;
    for (let i = 0; i < 200 && !(await job.isFailed()); i++) await new Promise((r) => setTimeout(r, 50));
    failedReason = (await queue.getJob(failedId))!.failedReason;
    await queue.close();
    expect(failedReason).toMatch(/^invalid_request: /);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("answers 401 with a Basic challenge without credentials, and with a wrong token", async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer not-the-token" },
      { authorization: basic("admin", "wrong") },
    ];
    for (const headers of attempts) {
      const answer = await fetch(`${http.url}/admin/queues`, { headers });
      expect(answer.status).toBe(401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Basic realm="kiln admin"/);
    }
    // the API and its static files are guarded the same way
    expect((await fetch(`${http.url}/admin/queues/api/queues`)).status).toBe(401);
  });

  it("lists every kiln queue, read-only, to the admin token (bearer or Basic)", async () => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN}`, basic("anyone", ADMIN_TOKEN)]) {
      const answer = await fetch(`${http.url}/admin/queues/api/queues?activeQueue=generate-tokenhub&status=failed&page=1`, {
        headers: { authorization },
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        queues: Array<{ name: string; readOnlyMode: boolean; jobs: Array<{ id: string; failedReason: string; stacktrace: string[] }> }>;
      };
      expect(body.queues.map((q) => q.name).sort()).toEqual([
        "batches",
        "generate-gateway",
        "generate-tokenhub",
        "generate-wcode",
        "webhooks",
      ]);
      expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
      const tokenhub = body.queues.find((q) => q.name === "generate-tokenhub")!;
      expect(tokenhub.jobs.find((j) => j.id === failedId)?.failedReason).toBe(failedReason);
      // a coded failure is its reason alone: no stack trace of kiln's source lines
      expect(tokenhub.jobs.find((j) => j.id === failedId)?.stacktrace).toEqual([]);
    }
    // read-only: a retry is refused and the job stays failed
    const retry = await fetch(`${http.url}/admin/queues/api/queues/generate-tokenhub/${failedId}/retry/failed`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(retry.status).toBeGreaterThanOrEqual(400);
    const queue = new Queue(generateQueueName("tokenhub"), { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    expect(await queue.getJobState(failedId)).toBe("failed");
    await queue.close();
  });

  it("stays out of the API document, and is off (404) without a token", async () => {
    const doc = await call(http.url, "GET", "/openapi.json");
    expect(Object.keys(doc.body.paths).some((p) => p.startsWith("/admin"))).toBe(false);
    const off = await startHttpServer({ ...h.env, KILN_ADMIN_TOKEN: undefined }, silent, { port: 0, host: "127.0.0.1" });
    try {
      expect((await fetch(`${off.url}/admin/queues`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it("in headless Chromium: logs in, opens the failed jobs of generate-tokenhub and shows the coded reason", async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set KILN_TEST_CHROMIUM`,
      );
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
      // without credentials: the server answers 401 with a Basic challenge, which a headless
      // browser (nobody to type a password) turns into a failed navigation
      const anonymous = await browser.newContext();
      const page0 = await anonymous.newPage();
      const statuses: number[] = [];
      page0.on("response", (response) => statuses.push(response.status()));
      await expect(page0.goto(`${http.url}/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      expect(statuses).toEqual([401]);
      await anonymous.close();

      const context = await browser.newContext({
        httpCredentials: { username: "admin", password: ADMIN_TOKEN },
        viewport: { width: 1280, height: 900 },
      });
      const page = await context.newPage();
      // every request the page makes stays on kiln's server: no font CDN, nothing a private network cannot reach
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const opened = await page.goto(`${http.url}/admin/queues/queue/generate-tokenhub?status=failed`);
      expect(opened?.status()).toBe(200);
      // the failed job's card shows its coded reason
      await page.getByText(failedReason.slice(0, 60), { exact: false }).first().waitFor({ timeout: 20_000 });
      expect(await page.locator("body").innerText()).not.toMatch(/UnrecoverableError|\.js:\d+/);
      expect(requested.length).toBeGreaterThan(1);
      expect(requested.filter((url) => !url.startsWith(`${http.url}/`))).toEqual([]);
      await mkdir("test-results", { recursive: true });
      await page.screenshot({ path: "test-results/admin-dashboard.png", fullPage: true });
      await context.close();
    } finally {
      await browser?.close();
    }
  });
});
