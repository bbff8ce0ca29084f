import type { Logger } from "pino";
import type { RedisConnection } from "../queue/redis.js";
import { JobResults } from "../visit/job-results.js";
import { StepContexts } from "../visit/step-contexts.js";
import { VisitPipeline } from "../visit/visit-pipeline.js";
import { budgetHook } from "../visit/hooks/budget-hook.js";
import { progressHook } from "../visit/hooks/progress-hook.js";
import { scrubHook } from "../visit/hooks/scrub-hook.js";
import { slotHook } from "../visit/hooks/slot-hook.js";
import { tracingHook } from "../visit/hooks/tracing-hook.js";
import { reuseHook } from "../visit/hooks/reuse-hook.js";
import { ReuseHandoff } from "../reuse/reuse-handoff.js";
import { ReuseRegistry } from "../reuse/reuse-registry.js";
import { CancelRequests } from "../cancel/cancel-requests.js";
import { generateQueueName } from "../contract/queue-names.js";
import { SecretScrubber } from "../util/secret-scrubber.js";
import { BatchBudget } from "../billing/batch-budget.js";
import { TenantBudget } from "../billing/tenant-budget.js";
import { DurationStatsStore } from "../polling/duration-stats-store.js";
import type { GenerationWorkerOptions } from "./generation-worker-options.js";
import { OutputFetcher } from "../storage/output-fetcher.js";
import { PollPlanner } from "../polling/poll-planner.js";
import { WebhookNotifier } from "../webhooks/webhook-notifier.js";

/**
 * The visit pipeline of one provider's queue in one partition, with its ports on Redis and its
 * hooks: in-flight slots (outermost: a slot is given back after the step's span ends), tracing,
 * and secret scrubbing (every hook after it sees a scrubbed outcome), then reuse of identical
 * requests, the batch budget and progress webhooks.
 */
export function generationPipeline(
  options: GenerationWorkerOptions,
  /** The worker's own connection for state writes, budgets and learned durations. */
  connection: RedisConnection,
  log: Logger,
  observeSubmitWindow: (ms: number) => void,
): VisitPipeline {
  const queues = options.queues.partition(options.partition ?? 0);
  const queueName = generateQueueName(options.provider.name);
  // a job's webhooks go to its own partition's queue: a re-run adds the same delivery id there
  const notifier = new WebhookNotifier(queues.webhooks());
  const cancels = new CancelRequests(options.connection, queues.prefix);
  const contexts = new StepContexts({
    ...options,
    log,
    fetcher: new OutputFetcher({ dispatcher: options.dispatcher, allowPrivate: options.allowPrivateUrls }),
    planner: pollPlanner(options, connection, log),
    secrets: options.secrets ?? new SecretScrubber([]),
    observeSubmitWindow,
  });
  return new VisitPipeline({
    contexts,
    results: new JobResults(options.provider.name, options.prices),
    notifier,
    cancelRequest: (jobId) => cancels.reasonFor(queueName, jobId),
    hooks: [
      slotHook((provider) => options.peers?.get(provider)?.slots ?? options.slots),
      tracingHook,
      scrubHook,
      // un-partitioned: identical requests meet whichever partition holds them
      reuseHook(
        new ReuseHandoff(
          new ReuseRegistry(connection, options.queues.prefix),
          (jobId) => options.queues.findJob(options.provider.name, jobId),
          log,
        ),
        (jobId) => cancels.reasonFor(queueName, jobId),
      ),
      budgetHook(
        new BatchBudget(connection, queues.prefix, options.prices),
        // un-partitioned: a tenant's period has one ledger, whichever partition its jobs are in
        new TenantBudget(connection, options.queues.prefix, options.prices, options.tenantBudgets ?? new Map()),
      ),
      progressHook(notifier, log),
    ],
    log,
  });
}

/**
 * Durations are learned per provider and model across partitions, under the un-partitioned
 * prefix; a read is reused for 10 s of (scaled) poll time, and at least 1 s: learning costs no
 * round trip per visit even where KILN_POLL_SCALE makes visits milliseconds apart (tests, benches).
 */
function pollPlanner(options: GenerationWorkerOptions, connection: RedisConnection, log: Logger): PollPlanner {
  const stats = new DurationStatsStore(connection, options.queues.prefix, { cacheMs: Math.max(1_000, 10_000 * (options.pollScale ?? 1)) });
  const { pollSchedule: mode, pollScale: scale, ratePerSecond, random } = options;
  return new PollPlanner({ mode, stats, scale, ratePerSecond, random, log });
}
