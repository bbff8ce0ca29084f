import type { Logger } from "pino";
import { Agent } from "undici";
import {
  type Environment,
  configError,
  modelInflightCaps,
  pricesOf,
  processEnvironment,
  secretScrubberOf,
  tenantBudgetsOf,
  tenantSharesOf,
  tenantWebhookSecretsOf,
  webhookSecretsOf,
  webhookSigningKeysOf,
} from "../config/index.js";
import type { InflightCaps } from "../inflight/inflight-slots.js";
import { rateWindowFor } from "../rate-limits/queue-limiter.js";
import type { ModelKind } from "../providers/model-kind.js";
import { configuredBaseUrls, configuredProviders } from "../providers/index.js";
import { connectRedis, redisTargetOf, waitReady } from "../queue/redis.js";
import { workerPartitions } from "../queue/partitions.js";
import { generateQueueName } from "../contract/queue-names.js";
import { SlotHandoff } from "../inflight/slot-handoff.js";
import { createArchiveStore, outputLinksOf } from "../storage/index.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import { createOutboundDispatcher } from "../net/url-guard.js";
import { GenerationWorker } from "./generation-worker.js";
import { EventLoopLoad } from "./submit-pacer.js";
import { WebhookWorker } from "../webhooks/webhook-worker.js";
import { BatchWorker } from "../batches/batch-worker.js";
import { WebhookNotifier } from "../webhooks/webhook-notifier.js";
import { PartitionedQueues } from "../queue/partitioned-queues.js";
import { ArchiveReadiness } from "./archive-readiness.js";
import { enforceStartUpChecks, runStartUpChecks } from "./start-up-checks.js";

/** Everything `kiln worker` runs in one process: per partition it consumes, a worker of each queue. */
export interface KilnWorkers {
  /** One per provider with credentials and partition consumed. */
  generation: GenerationWorker[];
  /** One per partition consumed. */
  webhooks: WebhookWorker[];
  /** One per partition consumed. */
  batches: BatchWorker[];
  /** The in-flight slots' hand-off of each provider with credentials (shared by its partitions' workers). */
  handoffs: Array<{ provider: string; handoff: SlotHandoff }>;
  store: ArchiveStore;
  /** Every BullMQ worker is running (false while starting, closing or stopped): `/readyz` inside `kiln worker`. */
  isRunning(): boolean;
  /** The archive takes a put (the probe, reused for `KILN_ARCHIVE_CHECK_INTERVAL`): `/readyz` inside `kiln worker`. */
  archiveReady(): Promise<{ ok: boolean; error?: string }>;
  close(): Promise<void>;
}

/** Receives the workers as soon as they exist, before any job can finish (the HTTP server's metrics). */
export interface WorkerMetricsSink {
  attach(workers: Pick<KilnWorkers, "generation" | "webhooks" | "handoffs">): void;
}

/**
 * Starts, in every partition this process consumes (`KILN_WORKER_PARTITIONS`, default all of
 * `KILN_PARTITIONS`), a generation worker per provider with credentials, the webhook worker and
 * the batch worker. Fails with a ConfigError naming the variable when something required is missing.
 */
export async function startKilnWorkers(
  env: Environment,
  log: Logger,
  overrides: { webhookSchedule?: readonly number[]; rawEnv?: NodeJS.ProcessEnv; metrics?: WorkerMetricsSink } = {},
): Promise<KilnWorkers> {
  const webhookSecrets = webhookSecretsOf(env);
  if (webhookSecrets.length === 0)
    throw configError("KILN_WEBHOOK_SECRET: required by kiln worker to sign webhooks (whsec_ + base64), or KILN_WEBHOOK_SECRETS");
  const signingKeys = webhookSigningKeysOf(env);
  // provider APIs are configured by the operator, so they may be private; result and webhook URLs are not
  const apiAgent = new Agent({ connect: { timeout: 10_000 } });
  const providers = configuredProviders(env, log, apiAgent);
  // checked before anything connects: a bad price file stops start-up with the entry named
  const prices = pricesOf(env);
  const tenantSecrets = tenantWebhookSecretsOf(env);
  const tenantBudgets = tenantBudgetsOf(env);
  if (providers.length === 0)
    throw configError("TOKENHUB_API_KEY, GATEWAY_API_KEY, WCODE_API_KEY: no provider has credentials, so there is nothing to run");
  const partitions = workerPartitions(env.KILN_WORKER_PARTITIONS, env.KILN_PARTITIONS);
  const connection = connectRedis(redisTargetOf(env), "worker");
  connection.on("error", (err: Error) => log.error({ err: err.message }, "redis connection error"));
  await waitReady(connection, 30_000);
  const store = createArchiveStore(env);
  // what can be known before the first job: the bucket, Redis's policy, private provider hosts
  const archiveReadiness = new ArchiveReadiness(store, env.KILN_ARCHIVE_CHECK_INTERVAL);
  try {
    const outcomes = await runStartUpChecks({
      store,
      probe: () => archiveReadiness.probe(),
      redis: connection,
      bases: configuredBaseUrls(env),
      allowPrivateUrls: env.KILN_ALLOW_PRIVATE_URLS,
    });
    enforceStartUpChecks(outcomes, env.KILN_STARTUP_CHECKS, log);
  } catch (err) {
    connection.disconnect();
    throw err;
  }
  const presign = outputLinksOf(env, store);
  const outbound = createOutboundDispatcher({ allowPrivate: env.KILN_ALLOW_PRIVATE_URLS });
  const queues = new PartitionedQueues(connection, env.KILN_PREFIX, env.KILN_PARTITIONS, log);
  const common = { connection, dispatcher: outbound, allowPrivateUrls: env.KILN_ALLOW_PRIVATE_URLS, log };
  const recovery = {
    lockDurationMs: env.KILN_LOCK_DURATION,
    stalledIntervalMs: env.KILN_STALLED_INTERVAL,
    deadlines: deadlinesOf(env),
    outputLimits: outputLimitsOf(env),
    archiveWindowMs: env.KILN_ARCHIVE_DEADLINE,
  };
  // the variables no schema can list (per-model caps, library-read credentials), read in config/
  const rawEnv = overrides.rawEnv ?? processEnvironment();
  const secrets = secretScrubberOf(env, rawEnv);
  // one hand-off per provider and process: in-flight slots are global, whatever the partition
  const handoffs = providers.map((provider) => {
    const { inflight, ...limits } = limitsOf(env, provider.name, rawEnv);
    const handoff = SlotHandoff.forProvider({
      connection,
      queues,
      provider: provider.name,
      inflight,
      pollScale: env.KILN_POLL_SCALE,
      leaseMs: env.KILN_SLOT_LEASE,
      log,
    });
    return { provider: provider.name, client: provider, handoff, limits };
  });
  // every provider's queue can run a fallback at any other provider this process holds a key for
  const peersOf = (queue: string) =>
    new Map(
      handoffs
        .filter(({ provider }) => provider !== queue)
        .map(({ provider, client, handoff, limits }) => [
          provider,
          { provider: client, slots: handoff.forQueueOf(queue), onUnknownSubmit: limits.onUnknownSubmit },
        ]),
    );
  // one load reading per process for KILN_SUBMIT_PACING: every worker in it shares the event loop
  const eventLoop = env.KILN_SUBMIT_PACING === "on" ? new EventLoopLoad() : undefined;
  const generation = handoffs.flatMap(({ client: provider, handoff: slots, limits }) => {
    const peers = peersOf(provider.name);
    return partitions.map(
      (partition) =>
        new GenerationWorker({
          ...common,
          ...recovery,
          ...limits,
          queues,
          partition,
          slots,
          peers,
          provider,
          store,
          concurrency: env.KILN_CONCURRENCY,
          pollScale: env.KILN_POLL_SCALE,
          pollSchedule: env.KILN_POLL_SCHEDULE,
          ...(eventLoop && { submitPacing: eventLoop }),
          maxBadAnswers: env.KILN_MAX_BAD_ANSWERS,
          secrets,
          fetchWatchdogMs: env.KILN_FETCH_WATCHDOG,
          prices,
          tenantBudgets,
          maxJobBytes: env.KILN_MAX_JOB_BYTES,
        }),
    );
  });
  for (const { handoff } of handoffs) handoff.start();
  const webhooks = partitions.map(
    (partition) =>
      new WebhookWorker({
        ...common,
        prefix: queues.partition(partition).prefix,
        secrets: webhookSecrets,
        tenantSecrets,
        signingKeys,
        schedule: overrides.webhookSchedule ?? env.KILN_WEBHOOK_RETRY_SCHEDULE,
        timeoutMs: env.KILN_WEBHOOK_TIMEOUT_MS,
        fetchWatchdogMs: env.KILN_FETCH_WATCHDOG,
        lockDurationMs: env.KILN_LOCK_DURATION,
        stalledIntervalMs: env.KILN_STALLED_INTERVAL,
        presign,
      }),
  );
  const batches = partitions.map((partition) => {
    const own = queues.partition(partition);
    return new BatchWorker({ connection, queues: own, store, notifier: new WebhookNotifier(own.webhooks()), log });
  });
  overrides.metrics?.attach({ generation, webhooks, handoffs });
  log.info(
    {
      queues: providers.map((p) => generateQueueName(p.name)),
      partitions,
      of: env.KILN_PARTITIONS,
      archive: store.location,
      prefix: env.KILN_PREFIX,
    },
    "kiln workers started",
  );
  return {
    generation,
    webhooks,
    batches,
    handoffs,
    store,
    isRunning: () => [...generation, ...webhooks, ...batches].every((w) => w.worker.isRunning()),
    archiveReady: () => archiveReadiness.check(),
    async close() {
      for (const { handoff } of handoffs) handoff.stop();
      await Promise.all([...generation.map((g) => g.close()), ...webhooks.map((w) => w.close()), ...batches.map((b) => b.close())]);
      eventLoop?.stop();
      await queues.close();
      await connection.quit().catch(() => undefined);
      await Promise.all([apiAgent.close(), outbound.close()]);
    },
  };
}

/** `KILN_DEADLINE_<KIND>`: the kinds the operator set. */
function deadlinesOf(env: Environment): Partial<Record<ModelKind, number>> {
  const set = {
    image: env.KILN_DEADLINE_IMAGE,
    video: env.KILN_DEADLINE_VIDEO,
    "3d": env.KILN_DEADLINE_3D,
    audio: env.KILN_DEADLINE_AUDIO,
    text: env.KILN_DEADLINE_TEXT,
  };
  return Object.fromEntries(Object.entries(set).filter(([, ms]) => ms !== undefined));
}

/** `KILN_MAX_OUTPUT_BYTES_<KIND>` and `KILN_DOWNLOAD_TIMEOUT_<KIND>`: the kinds and limits the operator set. */
export function outputLimitsOf(env: Environment): Partial<Record<ModelKind, { maxBytes?: number; timeoutMs?: number }>> {
  const kinds = { image: "IMAGE", video: "VIDEO", "3d": "3D", audio: "AUDIO", text: "TEXT" } as const;
  return Object.fromEntries(
    Object.entries(kinds).map(([kind, name]) => [
      kind,
      { maxBytes: env[`KILN_MAX_OUTPUT_BYTES_${name}`], timeoutMs: env[`KILN_DOWNLOAD_TIMEOUT_${name}`] },
    ]),
  );
}

/** `KILN_<PROVIDER>_RATE` and `KILN_<PROVIDER>_MAX_INFLIGHT[_<MODEL>]` for one provider. */
function limitsOf(
  env: Environment,
  provider: string,
  rawEnv: NodeJS.ProcessEnv,
): { ratePerSecond?: number; inflight: InflightCaps; onUnknownSubmit: "retry" | "fail" } {
  const key = provider.toUpperCase() as "TOKENHUB" | "GATEWAY" | "WCODE";
  const rate = env[`KILN_${key}_RATE`];
  const rateWindow = rate ? rateWindowFor(rate) : undefined;
  return {
    onUnknownSubmit: env[`KILN_${key}_ON_UNKNOWN_SUBMIT`],
    ratePerSecond: rate,
    inflight: {
      provider: env[`KILN_${key}_MAX_INFLIGHT`],
      models: modelInflightCaps(rawEnv, provider),
      tenants: tenantSharesOf(env),
      // at most `max` requests in any `windowMs` ms (the rate's window and its margin), across every process and partition
      ...(rateWindow ? { rate: rateWindow } : {}),
    },
  };
}
