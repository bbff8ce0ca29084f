import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { demoEnvironment, demoRedisOf, queueLocationOf, secretScrubberOf } from "../../config/index.js";
import { createLogger } from "../../logger.js";
import { GenerationClient, type GenerationStatus } from "../../producers/generation-client.js";
import { startKilnWorkers } from "../../workers/kiln-workers.js";
import { startHttpServer } from "../../server/start-http-server.js";
import { loadDevTools, type DevTools } from "../dev-tools.js";
import { demoRequests } from "./demo-requests.js";
import { archiveTable, fetchedTable, progressLine, webhookTable } from "./demo-report.js";
import { fetchOutputs } from "./demo-outputs.js";

const SIM_KEY = "sk-demo";

/**
 * The whole pipeline on one machine with nothing configured: Redis (REDIS_URL or a
 * redis-server it starts), the provider simulator, kiln's workers and HTTP API, a webhook
 * receiver and a local archive directory (or S3 when S3_BUCKET is set). Prints progress, then
 * what was archived, the outputs fetched back over HTTP and which webhooks arrived. The simulator, the receiver and the redis-server come from
 * kiln's dev tools, loaded here.
 */
export async function runDemo(options: { timeoutMs: number; archiveDir: string }): Promise<boolean> {
  const tools = await loadDevTools("demo");
  const { ProviderSimulator, WebhookReceiver } = tools;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    // a Redis Cluster named by REDIS_CLUSTER_NODES is used as it is; else REDIS_URL, else a redis-server of its own
    const { clusterNodes: cluster, redisUrl: given } = demoRedisOf();
    const redisUrl = cluster ? undefined : given || (await startOwnRedis(tools, cleanups));
    const simulator = new ProviderSimulator({ apiKey: SIM_KEY, durationsMs: { image: 1500, video: 5000, "3d": 4000 } });
    const simUrl = await simulator.start();
    cleanups.push(() => simulator.stop());
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    const apiToken = `kiln_demo_${randomBytes(16).toString("hex")}`;
    const receiver = new WebhookReceiver(secret);
    await receiver.start();
    cleanups.push(() => receiver.stop());
    // the operator's environment, with the demo's defaults where unset and its own services over it
    const env = demoEnvironment({
      REDIS_URL: redisUrl,
      TOKENHUB_API_KEY: SIM_KEY,
      TOKENHUB_BASE_URL: simUrl,
      GATEWAY_API_KEY: SIM_KEY,
      GATEWAY_BASE_URL: `${simUrl}/gateway`,
      WCODE_API_KEY: SIM_KEY,
      WCODE_BASE_URL: `${simUrl}/wcode/api/gpt/v1`,
      KILN_WEBHOOK_SECRET: secret,
      KILN_ALLOW_PRIVATE_URLS: "true",
      KILN_POLL_SCALE: "0.1",
      ARCHIVE_DIR: options.archiveDir,
      KILN_API_TOKEN: apiToken,
    });
    const log = createLogger({ level: env.LOG_LEVEL, secrets: secretScrubberOf(env) });
    // the HTTP API on a free loopback port, as `kiln worker` serves it with KILN_HTTP_PORT
    const http = await startHttpServer(env, log, { port: 0, host: "127.0.0.1" });
    cleanups.push(() => http.close());
    const workers = await startKilnWorkers(env, log, { metrics: http.metrics });
    cleanups.push(() => workers.close());
    const redis = cluster ? `cluster ${cluster}` : redisUrl;
    console.log(
      `redis ${redis} | simulator ${simUrl} | http ${http.url} | webhooks ${receiver.url} | archive ${workers.store.location} | prefix ${env.KILN_PREFIX}\n`,
    );

    const client = new GenerationClient(queueLocationOf(env));
    cleanups.push(() => client.close());
    const run = Date.now().toString(36);
    const jobs = await Promise.all(
      demoRequests(tools.DIRECTIVES.fail).map(async (r, i) => ({
        label: r.label,
        id: await client.enqueue(
          { provider: r.provider, model: r.model, input: r.input, webhook: { url: receiver.url }, metadata: { demo: run } },
          { id: `demo-${run}-${i}` },
        ),
      })),
    );
    console.log(`enqueued ${jobs.length} requests; progress:`);
    const finals = await watch(client, jobs, options.timeoutMs);
    await receiver.waitFor((r) => r.length >= jobs.length, 15_000).catch(() => undefined);

    const labels = new Map(jobs.map((j) => [j.id, j.label]));
    console.log(`\narchived files (${workers.store.location}):\n${archiveTable(finals)}`);
    const fetched = await fetchOutputs(http.url, apiToken, finals);
    console.log(`\noutputs fetched over HTTP (${http.url}, Authorization: Bearer <KILN_API_TOKEN>):\n${fetchedTable(fetched)}`);
    console.log(`\nwebhooks received at ${receiver.url}:\n${webhookTable(receiver.received, labels)}`);
    const stats = simulator.stats();
    console.log(
      `\nsimulator: ${stats.submissions.length} submissions for ${jobs.length} jobs, ${stats.queries} status queries, ${stats.downloads} downloads`,
    );
    return (
      finals.every((f) => f.status.state === "completed" || f.label === "provider failure") &&
      fetched.every((f) => f.intact) &&
      receiver.received.every((r) => r.verified)
    );
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

async function startOwnRedis(tools: DevTools, cleanups: Array<() => Promise<unknown>>): Promise<string> {
  const redis = await tools.startRedisProcess();
  cleanups.push(() => redis.stop());
  return redis.url;
}

/** Prints a line whenever a job's state or step changes, until all have ended. */
async function watch(
  client: GenerationClient,
  jobs: Array<{ label: string; id: string }>,
  timeoutMs: number,
): Promise<Array<{ label: string; status: GenerationStatus }>> {
  const seen = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(jobs.map(async (j) => ({ label: j.label, status: (await client.get(j.id))! })));
    for (const { label, status } of statuses) {
      const line = progressLine(label, status);
      if (seen.get(label) !== line) console.log(line);
      seen.set(label, line);
    }
    if (statuses.every((s) => s.status && ["completed", "failed"].includes(s.status.state))) return statuses;
    if (Date.now() > deadline) throw new Error(`demo did not finish within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const DEFAULT_DEMO_DIR = resolve("kiln-demo", "archive");
