import { Counter, Gauge, Histogram, Summary, type Registry } from "prom-client";

/** Seconds from a fraction of a second (a sync image) to the video deadline of two hours. */
const STEP_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
const HTTP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Every kiln metric family; names and help texts are the metrics table in docs/http-api.md. */
export interface MetricFamilies {
  jobs: Gauge<"provider" | "state">;
  webhookJobs: Gauge<"state">;
  steps: Histogram<"provider" | "step" | "status">;
  responses: Counter<"provider" | "status">;
  responseSeconds: Histogram<"provider">;
  polls: Counter<"provider">;
  submitWindow: Counter<"provider">;
  submitStoreSeconds: Summary<"provider">;
  archivedBytes: Counter<"provider">;
  archivedOutputs: Counter<"provider">;
  usage: Counter<"provider" | "model" | "unit">;
  cost: Counter<"provider" | "model" | "currency">;
  webhookDeliveries: Counter<"outcome">;
  slotsReclaimed: Counter<"provider">;
  workerRecoveries: Counter<"queue">;
  archiveMemory: Gauge;
  archiveMemoryLimit: Gauge;
  failures: Counter<"provider" | "code">;
  archiveOldest: Gauge<"provider">;
  inflightSlots: Gauge<"provider" | "model">;
  inflightCap: Gauge<"provider" | "model">;
  inflightWaiting: Gauge<"provider" | "model">;
  tenantInflight: Gauge<"provider" | "tenant">;
  tenantWaiting: Gauge<"provider" | "tenant">;
  workersReady: Gauge<"queue">;
  submitsAllowed: Gauge<"queue">;
  redisMemory: Gauge<"node">;
  redisMaxMemory: Gauge<"node">;
  tenantGenerations: Counter<"tenant" | "status">;
  tenantWait: Histogram<"tenant">;
  tenantUsage: Counter<"tenant" | "unit">;
  tenantCost: Counter<"tenant" | "currency">;
}

/** What the two job gauges run at scrape time to set their values. */
export interface GaugeCollectors {
  jobs: () => Promise<void>;
  webhookJobs: () => Promise<void>;
  /** The process's archive memory budget, held bytes and limit (both 0 before any S3 store exists). */
  archiveMemory: () => { held: number; limit: number };
  /** Sets the archive age gauge (`kiln_archive_oldest_seconds`). */
  archiveOldest: () => Promise<void>;
  /** Sets the three in-flight gauges from one read of the slot sets (each gauge's collect calls it). */
  inflight: () => Promise<void>;
  workersReady: () => void;
  /** Sets the submits each generation queue's workers in this process let run at once now. */
  submitsAllowed: () => void;
  /** Sets both Redis memory gauges from one `INFO memory` per server. */
  redisMemory: () => Promise<void>;
}

export function createMetricFamilies(registry: Registry, collect: GaugeCollectors): MetricFamilies {
  const registers = [registry];
  return {
    jobs: new Gauge({
      name: "kiln_jobs",
      help: "Generation jobs by provider and BullMQ state, read from Redis at scrape time",
      labelNames: ["provider", "state"],
      registers,
      collect: collect.jobs,
    }),
    webhookJobs: new Gauge({
      name: "kiln_webhook_jobs",
      help: "Webhook deliveries by BullMQ state, read from Redis at scrape time",
      labelNames: ["state"],
      registers,
      collect: collect.webhookJobs,
    }),
    steps: new Histogram({
      name: "kiln_generation_step_seconds",
      help:
        "Finished generations' step latencies from their result timings: " +
        "provider = submitted to provider completion, archive = provider completion to archived, total = enqueued to finished",
      labelNames: ["provider", "step", "status"],
      buckets: STEP_BUCKETS,
      registers,
    }),
    responses: new Counter({
      name: "kiln_provider_responses_total",
      help: 'Provider HTTP answers by provider and status ("network" when none arrived)',
      labelNames: ["provider", "status"],
      registers,
    }),
    responseSeconds: new Histogram({
      name: "kiln_provider_response_seconds",
      help: "Time from a provider request to its response headers",
      labelNames: ["provider"],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    polls: new Counter({
      name: "kiln_polls_total",
      help: "Worker visits at the poll step (one provider status request each)",
      labelNames: ["provider"],
      registers,
    }),
    submitWindow: new Counter({
      name: "kiln_submit_window_total",
      help:
        "Submit calls made again while an earlier call's outcome was unknown " +
        "(a crash between the provider's answer and storing it, a 5xx, a network error): the provider may run such a task twice",
      labelNames: ["provider"],
      registers,
    }),
    submitStoreSeconds: new Summary({
      name: "kiln_submit_store_seconds",
      help: "Time from a submit answer's arrival to its task id being stored in Redis: a crash inside it makes the one possible duplicate task",
      labelNames: ["provider"],
      percentiles: [0.5, 0.9, 0.99, 0.999],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers,
    }),
    archivedBytes: new Counter({
      name: "kiln_archived_bytes_total",
      help: "Bytes archived, by provider, counted when a generation finishes",
      labelNames: ["provider"],
      registers,
    }),
    archivedOutputs: new Counter({
      name: "kiln_archived_outputs_total",
      help: "Outputs archived, by provider, counted when a generation finishes",
      labelNames: ["provider"],
      registers,
    }),
    usage: new Counter({
      name: "kiln_usage_total",
      help:
        "What finished generations used, by provider, model and unit (prompt_tokens, completion_tokens, total_tokens, images, " +
        "videos, models, seconds, characters), from their results' usage",
      labelNames: ["provider", "model", "unit"],
      registers,
    }),
    cost: new Counter({
      name: "kiln_cost_total",
      help: "What finished generations cost at the operator's prices (KILN_PRICES), by provider, model and currency",
      labelNames: ["provider", "model", "currency"],
      registers,
    }),
    slotsReclaimed: new Counter({
      name: "kiln_slots_reclaimed_total",
      help: "In-flight slots taken back by the sweep because their job no longer waited on its task (gone, finished, or its state held no slot)",
      labelNames: ["provider"],
      registers,
    }),
    workerRecoveries: new Counter({
      name: "kiln_worker_recoveries_total",
      help: "BullMQ workers recreated by the fetch watchdog: it picked up no job while jobs were due and it had room for them",
      labelNames: ["queue"],
      registers,
    }),
    archiveMemory: new Gauge({
      name: "kiln_archive_memory_bytes",
      help: "Bytes this process holds in S3 archive part buffers (in use or kept for the next part), bounded by KILN_ARCHIVE_MEMORY",
      registers,
      collect() {
        this.set(collect.archiveMemory().held);
      },
    }),
    archiveMemoryLimit: new Gauge({
      name: "kiln_archive_memory_limit_bytes",
      help: "This process's archive memory budget, KILN_ARCHIVE_MEMORY",
      registers,
      collect() {
        this.set(collect.archiveMemory().limit);
      },
    }),
    failures: new Counter({
      name: "kiln_generation_failures_total",
      help: "Generations that failed, by provider and their error code (the result's error.code)",
      labelNames: ["provider", "code"],
      registers,
    }),
    archiveOldest: new Gauge({
      name: "kiln_archive_oldest_seconds",
      help:
        "Seconds since the provider completed the oldest job still at the archive step, among the jobs this process's workers " +
        "took up there (0: none); each job's BullMQ state is read again at scrape time",
      labelNames: ["provider"],
      registers,
      collect: collect.archiveOldest,
    }),
    inflightSlots: new Gauge({
      name: "kiln_inflight_slots",
      help: 'In-flight slots taken now, by provider and cap (model "*": the provider-wide cap), read from Redis at scrape time',
      labelNames: ["provider", "model"],
      registers,
      collect: collect.inflight,
    }),
    inflightCap: new Gauge({
      name: "kiln_inflight_cap",
      help: "The in-flight cap each kiln_inflight_slots series is held to (KILN_<PROVIDER>_MAX_INFLIGHT[_<MODEL>])",
      labelNames: ["provider", "model"],
      registers,
      collect: collect.inflight,
    }),
    inflightWaiting: new Gauge({
      name: "kiln_inflight_waiting",
      help: "Jobs waiting in line for an in-flight slot, by provider and cap, read from Redis at scrape time",
      labelNames: ["provider", "model"],
      registers,
      collect: collect.inflight,
    }),
    tenantInflight: new Gauge({
      name: "kiln_tenant_inflight",
      help: "In-flight slots a tenant holds now, by provider (providers with a cap), read from Redis at scrape time",
      labelNames: ["provider", "tenant"],
      registers,
      collect: collect.inflight,
    }),
    tenantWaiting: new Gauge({
      name: "kiln_tenant_waiting",
      help: "A tenant's jobs waiting to submit behind a provider's cap or rate (its queue depth there), by provider, read from Redis at scrape time",
      labelNames: ["provider", "tenant"],
      registers,
      collect: collect.inflight,
    }),
    workersReady: new Gauge({
      name: "kiln_workers_ready",
      help: "1 when every BullMQ worker of the queue in this process is running, 0 while starting, closing or stopped (no series outside kiln worker)",
      labelNames: ["queue"],
      registers,
      collect: collect.workersReady,
    }),
    submitsAllowed: new Gauge({
      name: "kiln_submits_allowed",
      help: "New submits the queue's workers in this process let run at once: their concurrency, less for a while after jobs back from the delayed set start more than 200 ms late in a busy process (no series outside kiln worker)",
      labelNames: ["queue"],
      registers,
      collect: collect.submitsAllowed,
    }),
    redisMemory: new Gauge({
      name: "kiln_redis_memory_used_bytes",
      help: "Redis used_memory (INFO memory) of each server (each master of a cluster), read at scrape time",
      labelNames: ["node"],
      registers,
      collect: collect.redisMemory,
    }),
    redisMaxMemory: new Gauge({
      name: "kiln_redis_maxmemory_bytes",
      help: "Redis maxmemory of each server (0: no limit), read at scrape time",
      labelNames: ["node"],
      registers,
      collect: collect.redisMemory,
    }),
    webhookDeliveries: new Counter({
      name: "kiln_webhook_deliveries_total",
      help: "Webhook delivery attempts by outcome: delivered, retry (will be tried again), failed (dead letter)",
      labelNames: ["outcome"],
      registers,
    }),
    tenantGenerations: new Counter({
      name: "kiln_tenant_generations_total",
      help: "Finished generations by tenant (the first KILN_METRICS_TENANTS tenants a process sees; the rest as other) and status",
      labelNames: ["tenant", "status"],
      registers,
    }),
    tenantWait: new Histogram({
      name: "kiln_tenant_wait_seconds",
      help: "Finished generations' wait from enqueue to their first submit, by tenant (in-flight caps and rates are where it grows)",
      labelNames: ["tenant"],
      buckets: STEP_BUCKETS,
      registers,
    }),
    tenantUsage: new Counter({
      name: "kiln_tenant_usage_total",
      help: "What providers' tasks used, by tenant and unit (as kiln_usage_total)",
      labelNames: ["tenant", "unit"],
      registers,
    }),
    tenantCost: new Counter({
      name: "kiln_tenant_cost_total",
      help: "The cost of that usage at the operator's prices (KILN_PRICES), by tenant and currency",
      labelNames: ["tenant", "currency"],
      registers,
    }),
  };
}
