#!/usr/bin/env node
// Takes the documentation's screenshot of the dashboard, docs/images/admin-dashboard.png, the
// same way every time (`npm run docs:screenshots`, which builds first): a private redis-server,
// a `kiln worker` started as a user starts it with the dashboard on, one job that fails with a
// coded reason (a model kiln does not know), and Debian's chromium in headless mode on the
// failed jobs of generate-tokenhub, in UTC and en-US. Run it in a fresh clone so that nothing of
// one machine shows. Needs redis-server and chromium (scripts/test-prerequisites.sh installs
// both); KILN_SCREENSHOT_CHROMIUM names another chromium.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getFreePort, startRedisProcess } from "@kiln/dev-tools";
import { Queue } from "bullmq";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(root, "docs/images/admin-dashboard.png");
const CHROMIUM = process.env.KILN_SCREENSHOT_CHROMIUM ?? "/usr/bin/chromium";
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check` answers true, checking every 100 ms; fails after `ms`, naming `what`. */
async function until(what, check, ms = 20_000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await check().catch(() => false)) return;
  throw new Error(`docs-screenshots: ${what} did not happen within ${ms / 1000} s`);
}

const redis = await startRedisProcess();
const archive = await mkdtemp(join(tmpdir(), "kiln-screenshot-"));
const port = await getFreePort();
const url = `http://127.0.0.1:${port}`;
const worker = spawn(process.execPath, [join(root, "bin/kiln.js"), "worker"], {
  env: {
    PATH: process.env.PATH,
    REDIS_URL: redis.url,
    TOKENHUB_API_KEY: "screenshot", // the job fails before any provider call
    KILN_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
    KILN_HTTP_HOST: "127.0.0.1",
    KILN_HTTP_PORT: String(port),
    KILN_ADMIN_TOKEN: ADMIN_TOKEN,
    ARCHIVE_DIR: archive,
    LOG_LEVEL: "error", // the failure itself is logged at warn
  },
  stdio: ["ignore", "inherit", "inherit"],
});
let browser;
try {
  await until("the worker's /readyz answering 200", async () => (await fetch(`${url}/readyz`)).ok);
  const queue = new Queue("generate-tokenhub", { connection: { url: redis.url }, prefix: "{kiln}" });
  const job = await queue.add("generate", { provider: "tokenhub", model: "no-such-model", input: { prompt: "a lighthouse at dawn" } });
  await until("the job failing", () => job.isFailed());
  await queue.close();

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const context = await browser.newContext({
    httpCredentials: { username: "admin", password: ADMIN_TOKEN },
    viewport: { width: 1280, height: 900 },
    timezoneId: "UTC",
    locale: "en-US",
  });
  const page = await context.newPage();
  await page.goto(`${url}/admin/queues/queue/generate-tokenhub?status=failed`);
  await page.getByText("invalid_request: model", { exact: false }).first().waitFor({ timeout: 20_000 });
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(`docs-screenshots: wrote ${OUT.slice(root.length)}`);
} finally {
  await browser?.close();
  worker.kill("SIGTERM");
  await new Promise((resolve) => (worker.exitCode === null ? worker.once("exit", resolve) : resolve()));
  await redis.stop();
  await rm(archive, { recursive: true, force: true });
}
