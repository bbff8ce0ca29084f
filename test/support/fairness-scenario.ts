import { randomUUID } from "node:crypto";

/** One tenant's part in a fairness run: a bulk at once, or a trickle of one request every `everyMs`. */
export interface ScenarioTenant {
  /** The request's `tenant`; undefined for none (the default tenant: the FIFO baseline). */
  tenant?: string;
  count: number;
  /** 0: all at once. */
  everyMs: number;
  /** When its first request is enqueued, ms after the bulk was enqueued. */
  afterMs: number;
  /** Each task's duration at the simulator (its `[sim:ms=]` directive); unset: the model's own. */
  durationMs?: (index: number) => number;
}

export interface FairnessRun {
  /** Enqueues one request (a real producer: the client, over Redis). */
  enqueue(request: { provider: string; model: string; input: { prompt: string }; tenant?: string }): Promise<unknown>;
  /** The provider simulator's submissions so far: each task's prompt and when it was submitted (ms since the epoch). */
  submissions(): Promise<ReadonlyArray<{ prompt: string; at: number }>>;
  model: string;
  /** The bulk, enqueued first. */
  bulk: ScenarioTenant;
  /** The later, smaller tenant whose waits are measured. */
  trickle: ScenarioTenant;
  /** Runs after the bulk is enqueued and before the trickle's first request (a crash, say). */
  beforeTrickle?: () => Promise<void>;
  /** Also wait for every bulk submit, for the bulk's throughput. @defaultValue false */
  drain?: boolean;
  timeoutMs: number;
}

export interface FairnessOutcome {
  /** The trickle's waits from enqueue to submit, ms, in enqueue order. */
  waitsMs: number[];
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** With `drain`: the bulk's submits per second, from its first submit to its last. */
  bulkPerSecond?: number;
}

/**
 * The fairness scenario of the Tenants issue, at any scale: a bulk tenant enqueues its backlog
 * at once, a second tenant later enqueues a few requests one after another, and the second's
 * waits from enqueue to submit are read off the provider's own record of submissions.
 */
export async function runFairness(run: FairnessRun): Promise<FairnessOutcome> {
  const tag = randomUUID().slice(0, 8);
  const request = (who: string, i: number, { tenant, durationMs }: ScenarioTenant) => ({
    provider: "tokenhub",
    model: run.model,
    input: { prompt: `fair ${tag} ${who} ${i}${durationMs ? ` [sim:ms=${Math.round(durationMs(i))}]` : ""}` },
    ...(tenant ? { tenant } : {}),
  });
  const enqueuedAt = new Map<string, number>();
  const bulk = Array.from({ length: run.bulk.count }, (_, i) => request("bulk", i, run.bulk));
  for (let i = 0; i < bulk.length; i += 50) await Promise.all(bulk.slice(i, i + 50).map((r) => run.enqueue(r)));
  await sleep(run.trickle.afterMs);
  await run.beforeTrickle?.();
  for (let i = 0; i < run.trickle.count; i++) {
    const next = request("trickle", i, run.trickle);
    enqueuedAt.set(next.input.prompt, Date.now());
    await run.enqueue(next);
    if (i < run.trickle.count - 1) await sleep(run.trickle.everyMs);
  }
  const deadline = Date.now() + run.timeoutMs;
  for (;;) {
    const seen = (await run.submissions()).filter((s) => s.prompt.startsWith(`fair ${tag} `));
    const trickle = seen.filter((s) => enqueuedAt.has(s.prompt));
    const bulkSeen = seen.filter((s) => !enqueuedAt.has(s.prompt));
    if (trickle.length === run.trickle.count && (!run.drain || bulkSeen.length === run.bulk.count)) {
      const waitsMs = [...enqueuedAt].map(([prompt, at]) => trickle.find((s) => s.prompt === prompt)!.at - at);
      const sorted = [...waitsMs].sort((a, b) => a - b);
      const times = bulkSeen.map((s) => s.at);
      return {
        waitsMs,
        p50Ms: percentile(sorted, 0.5),
        p95Ms: percentile(sorted, 0.95),
        maxMs: sorted.at(-1) ?? 0,
        ...(run.drain ? { bulkPerSecond: (times.length - 1) / ((Math.max(...times) - Math.min(...times)) / 1000) } : {}),
      };
    }
    if (Date.now() > deadline)
      throw new Error(`fairness run: ${trickle.length} of ${run.trickle.count} trickle and ${bulkSeen.length} bulk submits in time`);
    await sleep(100);
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
