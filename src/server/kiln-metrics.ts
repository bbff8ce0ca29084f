import { Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import type { GenerationResult } from "../contract/generation-result.js";
import { DEFAULT_TENANT } from "../contract/tenant.js";
import { DEFAULT_TENANT_LABELS, TenantLabels } from "./tenant-labels.js";
import { USAGE_UNITS, type UsageUnit } from "../contract/usage.js";
import { observeProviderResponses, type ProviderResponseEvent } from "../providers/http-json.js";
import { createMetricFamilies, type MetricFamilies } from "./metric-families.js";
import type { ProviderLabels } from "./provider-labels.js";
import type { QueueCounts } from "../queue/kiln-queues.js";
import { ScrapeRead } from "./scrape-read.js";
import { ArchiveMemoryBudget } from "../storage/archive-memory-budget.js";
import type { SlotScopeUsage, TenantSlotUsage } from "../inflight/inflight-slots.js";
import type { RedisConnection } from "../queue/redis.js";
import { WEBHOOKS_QUEUE, providerOfQueue } from "../contract/queue-names.js";
import { ArchiveWatch, type WatchedJob } from "./archive-watch.js";
import { readRedisMemory, type RedisMemory } from "./redis-memory.js";
import { attachWorkerMetrics, type WebhookOutcome, type WorkerEventRecorder, type WorkerSet } from "./worker-metrics.js";

export interface KilnMetricsOptions {
  log: Logger;
  /** Reads every queue's job counts, called at scrape time. @defaultValue undefined: the job gauges stay empty */
  counts?: () => Promise<QueueCounts>;
  /** Names the provider of each provider HTTP exchange. @defaultValue undefined: provider responses are not observed */
  providers?: ProviderLabels;
  /** Node.js process metrics (prom-client's defaults: CPU, memory, event loop lag, GC). @defaultValue true */
  processMetrics?: boolean;
  /** A scrape gives up on the counts after this long, ms (100 to 60000), and answers without them. @defaultValue 5000 */
  countsTimeoutMs?: number;
  /** Whose `INFO memory` the Redis memory gauges show, read at scrape time. @defaultValue undefined: no Redis memory series */
  redis?: RedisConnection;
  /** Distinct tenant labels this process gives (`KILN_METRICS_TENANTS`); later tenants count as `other`. @defaultValue 50 */
  tenantLabels?: number;
}

/**
 * kiln's Prometheus metrics, in a registry of their own (so several servers can live in one test
 * process). Job gauges are read from Redis at scrape time, so they count every process's jobs;
 * the counters and histograms count what this process's workers did.
 */
export class KilnMetrics implements WorkerEventRecorder {
  readonly registry = new Registry();
  private readonly log: Logger;
  private readonly families: MetricFamilies;
  private readonly counts: ScrapeRead<QueueCounts>;
  private readonly slots: ScrapeRead<Array<{ provider: string; scopes: SlotScopeUsage[]; tenants: TenantSlotUsage[] }>>;
  private readonly redisMemory: ScrapeRead<RedisMemory[]>;
  private readonly archives: ArchiveWatch;
  private readonly stopObserving: () => void;
  private workers: WorkerSet | undefined;
  private readonly tenants: TenantLabels;

  constructor(options: KilnMetricsOptions) {
    const timeoutMs = options.countsTimeoutMs ?? 5000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000)
      throw new RangeError(`countsTimeoutMs: must be an integer from 100 to 60000, got ${timeoutMs}`);
    this.log = options.log;
    this.tenants = new TenantLabels(options.tenantLabels ?? DEFAULT_TENANT_LABELS);
    this.counts = new ScrapeRead(options.counts, timeoutMs, options.log, "queue counts");
    this.slots = new ScrapeRead(() => this.readSlots(), timeoutMs, options.log, "in-flight slots");
    const redis = options.redis;
    this.redisMemory = new ScrapeRead(redis && (() => readRedisMemory(redis)), timeoutMs, options.log, "redis memory");
    this.archives = new ArchiveWatch(options.log, timeoutMs);
    this.families = createMetricFamilies(this.registry, {
      jobs: () => this.collectJobCounts(),
      webhookJobs: () => this.collectWebhookCounts(),
      archiveMemory: archiveMemoryNow,
      archiveOldest: () => this.collectArchiveOldest(),
      inflight: () => this.collectInflight(),
      workersReady: () => this.collectWorkersReady(),
      submitsAllowed: () => this.collectSubmitsAllowed(),
      redisMemory: () => this.collectRedisMemory(),
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const providers = options.providers;
    this.stopObserving = providers
      ? observeProviderResponses((event) => this.recordProviderResponse(providers.of(event), event))
      : () => undefined;
  }

  /** Listens to the workers' events; every listener is wrapped so it never throws into BullMQ. */
  attach(workers: WorkerSet): void {
    this.workers = workers;
    attachWorkerMetrics(this, workers, this.log);
  }

  /** A finished generation (completed or failed): step latencies and archived bytes. */
  recordResult(provider: string, result: GenerationResult): void {
    const t = result.timings;
    this.observeStep(provider, "provider", result.status, t.submittedAt, t.providerCompletedAt);
    this.observeStep(provider, "archive", result.status, t.providerCompletedAt, t.archivedAt);
    this.observeStep(provider, "total", result.status, t.enqueuedAt, t.finishedAt);
    this.recordTenant(result);
    this.families.archivedOutputs.inc({ provider }, result.outputs.length);
    this.families.archivedBytes.inc(
      { provider },
      result.outputs.reduce((sum, o) => sum + o.bytes, 0),
    );
    this.recordUsage(provider, result);
    if (result.error) this.families.failures.inc({ provider, code: result.error.code });
  }

  /** The tenant's share: its finished generations, its wait before submit, its usage and cost. */
  private recordTenant(result: GenerationResult): void {
    const tenant = this.tenants.of(result.tenant ?? DEFAULT_TENANT);
    this.families.tenantGenerations.inc({ tenant, status: result.status });
    const { enqueuedAt, submittedAt } = result.timings;
    if (submittedAt) this.families.tenantWait.observe({ tenant }, Math.max(0, Date.parse(submittedAt) - Date.parse(enqueuedAt)) / 1000);
    for (const unit of USAGE_UNITS) {
      const value = result.usage?.[unit];
      if (value !== undefined) this.families.tenantUsage.inc({ tenant, unit: METRIC_UNITS[unit] }, value);
    }
    if (result.cost) this.families.tenantCost.inc({ tenant, currency: result.cost.currency }, Number(result.cost.amount));
  }

  /** A result's usage per unit and its cost (a float here: Prometheus counters are; the exact figure is in the result). */
  private recordUsage(provider: string, { model, usage, cost }: GenerationResult): void {
    for (const unit of USAGE_UNITS) {
      const value = usage?.[unit];
      if (value !== undefined) this.families.usage.inc({ provider, model, unit: METRIC_UNITS[unit] }, value);
    }
    if (cost) this.families.cost.inc({ provider, model, currency: cost.currency }, Number(cost.amount));
  }

  recordPoll(provider: string): void {
    this.families.polls.inc({ provider });
  }

  recordSubmitWindow(provider: string): void {
    this.families.submitWindow.inc({ provider });
  }

  /** A submit answer's task id was stored `ms` after the answer arrived (the crash window). */
  recordSubmitStored(provider: string, ms: number): void {
    this.families.submitStoreSeconds.observe({ provider }, ms / 1000);
  }

  recordProviderResponse(provider: string, event: Pick<ProviderResponseEvent, "status" | "durationMs">): void {
    this.families.responses.inc({ provider, status: String(event.status) });
    this.families.responseSeconds.observe({ provider }, event.durationMs / 1000);
  }

  recordWebhookDelivery(outcome: WebhookOutcome): void {
    this.families.webhookDeliveries.inc({ outcome });
  }

  recordSlotReclaimed(provider: string): void {
    this.families.slotsReclaimed.inc({ provider });
  }

  recordWorkerRecovery(queue: string): void {
    this.families.workerRecoveries.inc({ queue });
  }

  recordArchiving(provider: string, job: WatchedJob, providerCompletedAt: number): void {
    this.archives.archiving(provider, job, providerCompletedAt);
  }

  /** Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops observing provider responses (the hook is process-wide). */
  close(): void {
    this.stopObserving();
  }

  /** A step the job never reached (no submit, no archive) has no latency to observe. */
  private observeStep(provider: string, step: string, status: string, from: string | undefined, to: string | undefined): void {
    if (from === undefined || to === undefined) return;
    const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
    if (Number.isFinite(seconds) && seconds >= 0) this.families.steps.observe({ provider, step, status }, seconds);
  }

  private async collectJobCounts(): Promise<void> {
    const counts = await this.counts.get();
    this.families.jobs.reset();
    for (const [provider, byState] of Object.entries(counts?.generation ?? {})) {
      for (const [state, n] of Object.entries(byState)) this.families.jobs.set({ provider, state }, n);
    }
  }

  private async collectWebhookCounts(): Promise<void> {
    const counts = await this.counts.get();
    this.families.webhookJobs.reset();
    for (const [state, n] of Object.entries(counts?.webhooks ?? {})) this.families.webhookJobs.set({ state }, n);
  }

  /** Every attached provider has a series (0: nothing archiving), so a quiet provider reads as healthy, not as absent. */
  private async collectArchiveOldest(): Promise<void> {
    const oldest = await this.archives.oldestSeconds(Date.now());
    this.families.archiveOldest.reset();
    for (const { queueName } of this.workers?.generation ?? []) {
      const provider = providerOfQueue(queueName) ?? queueName;
      this.families.archiveOldest.set({ provider }, oldest.get(provider) ?? 0);
    }
    for (const [provider, seconds] of oldest) this.families.archiveOldest.set({ provider }, seconds);
  }

  private readSlots(): Promise<Array<{ provider: string; scopes: SlotScopeUsage[]; tenants: TenantSlotUsage[] }>> {
    return Promise.all(
      (this.workers?.handoffs ?? []).map(async ({ provider, handoff }) => {
        const [scopes, tenants] = await Promise.all([handoff.usage(), handoff.tenants()]);
        return { provider, scopes, tenants };
      }),
    );
  }

  private async collectInflight(): Promise<void> {
    const usage = await this.slots.get();
    const { inflightSlots, inflightCap, inflightWaiting, tenantInflight, tenantWaiting } = this.families;
    for (const gauge of [inflightSlots, inflightCap, inflightWaiting, tenantInflight, tenantWaiting]) gauge.reset();
    for (const { provider, scopes, tenants } of usage ?? []) {
      for (const { model, cap, inUse, waiting } of scopes) {
        inflightSlots.set({ provider, model }, inUse);
        inflightCap.set({ provider, model }, cap);
        inflightWaiting.set({ provider, model }, waiting);
      }
      // tenants past the label cap add up under `other`
      for (const { tenant, inUse, waiting } of tenants) {
        tenantInflight.inc({ provider, tenant: this.tenants.of(tenant) }, inUse);
        tenantWaiting.inc({ provider, tenant: this.tenants.of(tenant) }, waiting);
      }
    }
  }

  /** A queue runs a worker per partition this process consumes: ready when all of them run. */
  private collectWorkersReady(): void {
    const workers = this.workers;
    this.families.workersReady.reset();
    if (!workers) return;
    const ready = new Map<string, boolean>();
    const add = (queue: string, running: boolean) => ready.set(queue, (ready.get(queue) ?? true) && running);
    for (const g of workers.generation) add(g.queueName, g.worker.isRunning());
    for (const w of workers.webhooks) add(WEBHOOKS_QUEUE, w.worker.isRunning());
    for (const [queue, running] of ready) this.families.workersReady.set({ queue }, running ? 1 : 0);
  }

  /** A queue's submits allowed, added up over the partitions this process consumes. */
  private collectSubmitsAllowed(): void {
    this.families.submitsAllowed.reset();
    for (const g of this.workers?.generation ?? []) this.families.submitsAllowed.inc({ queue: g.queueName }, g.submitsAllowed);
  }

  private async collectRedisMemory(): Promise<void> {
    const servers = await this.redisMemory.get();
    this.families.redisMemory.reset();
    this.families.redisMaxMemory.reset();
    for (const { node, usedBytes, maxBytes } of servers ?? []) {
      this.families.redisMemory.set({ node }, usedBytes);
      this.families.redisMaxMemory.set({ node }, maxBytes);
    }
  }
}

/** Usage fields as metric label values, in Prometheus' snake_case. */
const METRIC_UNITS: Record<UsageUnit, string> = {
  promptTokens: "prompt_tokens",
  completionTokens: "completion_tokens",
  totalTokens: "total_tokens",
  images: "images",
  videos: "videos",
  models: "models",
  seconds: "seconds",
  characters: "characters",
};

function archiveMemoryNow(): { held: number; limit: number } {
  const budget = ArchiveMemoryBudget.current();
  return { held: budget?.heldBytes ?? 0, limit: budget?.limitBytes ?? 0 };
}
