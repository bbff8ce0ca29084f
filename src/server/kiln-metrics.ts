import { Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import type { GenerationResult } from "../contract/generation-result.js";
import { USAGE_UNITS, type UsageUnit } from "../contract/usage.js";
import { observeProviderResponses, type ProviderResponseEvent } from "../providers/http-json.js";
import { createMetricFamilies, type MetricFamilies } from "./metric-families.js";
import type { ProviderLabels } from "./provider-labels.js";
import type { QueueCounts } from "../queue/kiln-queues.js";
import { ScrapeCounts } from "./scrape-counts.js";
import { ArchiveMemoryBudget } from "../storage/archive-memory-budget.js";
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
  private readonly counts: ScrapeCounts;
  private readonly stopObserving: () => void;

  constructor(options: KilnMetricsOptions) {
    const timeoutMs = options.countsTimeoutMs ?? 5000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000)
      throw new RangeError(`countsTimeoutMs: must be an integer from 100 to 60000, got ${timeoutMs}`);
    this.log = options.log;
    this.counts = new ScrapeCounts(options.counts, timeoutMs, options.log);
    this.families = createMetricFamilies(this.registry, {
      jobs: () => this.collectJobCounts(),
      webhookJobs: () => this.collectWebhookCounts(),
      archiveMemory: archiveMemoryNow,
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const providers = options.providers;
    this.stopObserving = providers
      ? observeProviderResponses((event) => this.recordProviderResponse(providers.of(event), event))
      : () => undefined;
  }

  /** Listens to the workers' events; every listener is wrapped so it never throws into BullMQ. */
  attach(workers: WorkerSet): void {
    attachWorkerMetrics(this, workers, this.log);
  }

  /** A finished generation (completed or failed): step latencies and archived bytes. */
  recordResult(provider: string, result: GenerationResult): void {
    const t = result.timings;
    this.observeStep(provider, "provider", result.status, t.submittedAt, t.providerCompletedAt);
    this.observeStep(provider, "archive", result.status, t.providerCompletedAt, t.archivedAt);
    this.observeStep(provider, "total", result.status, t.enqueuedAt, t.finishedAt);
    this.families.archivedOutputs.inc({ provider }, result.outputs.length);
    this.families.archivedBytes.inc(
      { provider },
      result.outputs.reduce((sum, o) => sum + o.bytes, 0),
    );
    this.recordUsage(provider, result);
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
