import type { Logger } from "pino";
import {
  ConfigError,
  type Environment,
  pricesOf,
  secretScrubberOf,
  tenantBudgetsOf,
  tenantTokensOf,
  webhookSigningKeysOf,
} from "../config/index.js";
import { TenantBudget } from "../billing/tenant-budget.js";
import { GenerationClient } from "../producers/generation-client.js";
import { connectRedis, redisTargetOf } from "../queue/redis.js";
import type { BatchReader } from "./batch-reader.js";
import { KilnHttpServer } from "./http-server.js";
import { KilnMetrics } from "./kiln-metrics.js";
import { ProviderLabels } from "./provider-labels.js";
import { PartitionedQueues } from "../queue/partitioned-queues.js";
import { createArchiveStore } from "../storage/index.js";

export interface StartHttpServerOptions {
  /** TCP port; 0 picks a free one. @defaultValue `KILN_HTTP_PORT`, else 8080 */
  port?: number;
  /** Interface to bind. @defaultValue `KILN_HTTP_HOST`, else "0.0.0.0" (every interface, as probes and scrapers need) */
  host?: string;
  /** Inside `kiln worker`: readiness also needs the workers running. @defaultValue undefined */
  workersRunning?: () => boolean;
  /** Inside `kiln worker`: readiness also needs the archive to take a put. @defaultValue undefined */
  archiveReady?: () => Promise<{ ok: boolean; error?: string }>;
  /** Serves `GET /v1/batches/{id}`. @defaultValue the batches under `KILN_PREFIX`, in the batch's partition (GenerationClient.getBatch) */
  batches?: BatchReader;
}

/** A listening HTTP server and what it owns. */
export interface RunningHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Give these to `startKilnWorkers` so the workers' events reach `/metrics`. */
  metrics: KilnMetrics;
  server: KilnHttpServer;
  close(): Promise<void>;
}

/**
 * Starts kiln's HTTP API on its own producer connection (fail-fast: a request while Redis is
 * down answers 503 at once instead of hanging). Used by `kiln server` and `kiln worker`.
 */
export async function startHttpServer(env: Environment, log: Logger, options: StartHttpServerOptions = {}): Promise<RunningHttpServer> {
  // a bad price file stops start-up, naming the entry, before anything connects
  const prices = pricesOf(env);
  const tenantTokens = tenantTokensOf(env);
  const tenantBudgets = tenantBudgetsOf(env);
  const webhookPublicKeys = webhookSigningKeysOf(env).map((key) => key.publicKey);
  const redis = connectRedis(redisTargetOf(env), "producer");
  const tenantBudget = new TenantBudget(redis, env.KILN_PREFIX, prices, tenantBudgets);
  redis.on("error", (err: Error) => log.warn({ err: err.message }, "http server: redis connection error"));
  const client = new GenerationClient({
    connection: redis,
    prefix: env.KILN_PREFIX,
    partitions: env.KILN_PARTITIONS,
    maxJobBytes: env.KILN_MAX_JOB_BYTES,
  });
  const queues = new PartitionedQueues(redis, env.KILN_PREFIX, env.KILN_PARTITIONS, log);
  // BullMQ's calls wait for a connection: while there is none, a scrape skips the counts at once
  const counts = () => (redis.status === "ready" ? queues.counts() : Promise.reject(new Error(`redis connection ${redis.status}`)));
  const metrics = new KilnMetrics({ log, counts, redis, providers: new ProviderLabels(env), tenantLabels: env.KILN_METRICS_TENANTS });
  const secrets = secretScrubberOf(env);
  const server = new KilnHttpServer({
    client,
    store: createArchiveStore(env),
    outputUrlTtlMs: env.KILN_OUTPUT_URL_TTL,
    outputUrls: env.KILN_OUTPUT_URLS,
    redis,
    metrics,
    log,
    apiToken: env.KILN_API_TOKEN,
    readToken: env.KILN_READ_TOKEN,
    tenantTokens,
    tenantUsage: (tenant) => tenantBudget.usage(tenant),
    publicReads: env.KILN_PUBLIC_READS,
    batches: options.batches ?? { get: (id) => client.getBatch(id) },
    batchWriter: client,
    prices,
    workersRunning: options.workersRunning,
    archiveReady: options.archiveReady,
    webhookPublicKeys,
    admin: env.KILN_ADMIN_TOKEN ? { token: env.KILN_ADMIN_TOKEN, write: env.KILN_ADMIN_WRITE, queues, secrets } : undefined,
    secrets,
  });
  const close = async () => {
    await server.close();
    metrics.close();
    await Promise.all([queues.close(), client.close()]);
    await redis.quit().catch(() => redis.disconnect());
  };
  const port = options.port ?? env.KILN_HTTP_PORT ?? 8080;
  const host = options.host ?? env.KILN_HTTP_HOST;
  try {
    const url = await server.listen(port, host);
    log.info(
      {
        url,
        // what it is bound to, which the URL (loopback for 0.0.0.0, to be clickable) does not say
        bind: `${host.includes(":") ? `[${host}]` : host}:${new URL(url).port}`,
        auth: env.KILN_API_TOKEN ? "bearer token" : "not configured: writes refused",
        dashboard: env.KILN_ADMIN_TOKEN
          ? `${url}/admin/queues${env.KILN_ADMIN_WRITE ? "" : " (read-only)"}`
          : "off: KILN_ADMIN_TOKEN not set",
      },
      "http server listening",
    );
    return { url, metrics, server, close };
  } catch (err) {
    await close();
    throw listenError(err, host, port);
  }
}

/** A port in use, a port that needs privileges or an address the host lacks is the operator's to fix: one line, not a stack. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${host}:${port}`;
  if (code === "EADDRINUSE") return new ConfigError(`cannot listen on ${where}: the port is in use (KILN_HTTP_PORT or --port)`);
  if (code === "EACCES") return new ConfigError(`cannot listen on ${where}: the port needs privileges (KILN_HTTP_PORT or --port)`);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
    return new ConfigError(`cannot listen on ${where}: this machine has no such address (KILN_HTTP_HOST or --host)`);
  return err;
}
