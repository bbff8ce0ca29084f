import { createLogger } from "../../src/logger.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { startKilnWorkers, type KilnWorkers } from "../../src/workers/kiln-workers.js";
import { KilnHarness } from "./kiln-harness.js";

/**
 * A harness on the local store whose tasks take 200 ms, without workers yet: the test arranges
 * Redis first (a lost slot, a hanging fetch), then starts them with `startObservedWorkers`.
 */
export function startQuickHarness(env: Record<string, string>): Promise<KilnHarness> {
  return new KilnHarness().start({
    workers: false,
    archive: "local",
    simulator: { durationsMs: { image: 200, video: 200, "3d": 200 } },
    env,
  });
}

/** Starts kiln's workers in the harness with a metrics registry of their own; their warn and error lines are kept. */
export async function startObservedWorkers(h: KilnHarness): Promise<{ workers: KilnWorkers; metrics: KilnMetrics; lines: string[] }> {
  const lines: string[] = [];
  const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }), processMetrics: false });
  const log = createLogger({ level: "warn", destination: { write: (line: string) => void lines.push(line) } });
  const workers = await startKilnWorkers(h.env, log, { webhookSchedule: [100], rawEnv: h.rawEnv, metrics });
  // the harness closes them with the rest
  h.workers = workers;
  return { workers, metrics, lines };
}
