import { createHash } from "node:crypto";
import type { Queue } from "bullmq";
import { readState } from "../src/queue/kiln-job.js";

/** The p-quantile of `values` (nearest rank), 0 for none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

export const round = (x: number) => Math.round(x * 100) / 100;

/** mulberry32 seeded from a string: the same tasks every run. */
export function seeded(seed: string): () => number {
  let state = createHash("sha256").update(seed).digest().readUInt32LE(0);
  return () => {
    let t = (state = (state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** kiln's state of a job, or undefined before kiln wrote one. */
export function stateOf(job: Parameters<typeof readState>[0]) {
  const stored = readState(job);
  return stored.kind === "state" ? stored.state : undefined;
}

/** Resolves once `total` jobs of the queue completed; throws at the first failed one. */
export async function waitAllDone(queue: Queue, total: number, what: string): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts("completed", "failed");
    if ((counts.failed ?? 0) > 0) throw new Error(`${what}: ${counts.failed} jobs failed`);
    if ((counts.completed ?? 0) >= total) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A duration drawn log-uniformly (a geometric spread) between `lo` and `hi`. */
export function logUniform(random: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + random() * Math.log(hi / lo));
}

/** The figures with their names prefixed by `who.`. */
export function prefixed(who: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${who}.${k}`, v]));
}
