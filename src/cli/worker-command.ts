import { Command } from "commander";
import { loadEnvironment, secretScrubberOf } from "../config/index.js";
import { createLogger } from "../logger.js";
import { startHttpServer, type RunningHttpServer } from "../server/index.js";
import { startKilnWorkers, type KilnWorkers } from "../workers/kiln-workers.js";
import { installGracefulShutdown } from "./graceful-shutdown.js";

/** `kiln worker`: generation workers for every provider with credentials, and the webhook worker. */
export function workerCommand(): Command {
  return new Command("worker")
    .description(
      "run the generation workers (providers with credentials) and the webhook worker; with KILN_HTTP_PORT, also the HTTP API and /metrics",
    )
    .action(async () => {
      const env = loadEnvironment();
      const log = createLogger({ level: env.LOG_LEVEL, secrets: secretScrubberOf(env) });
      // HTTP first, so its metrics see the workers from their first job and /healthz answers while Redis is awaited
      let workers: KilnWorkers | undefined;
      const http =
        env.KILN_HTTP_PORT === undefined
          ? undefined
          : await startHttpServer(env, log, {
              workersRunning: () => workers?.isRunning() ?? false,
              archiveReady: () =>
                workers?.archiveReady() ?? Promise.resolve({ ok: false, error: "not probed yet: the workers are starting" }),
            });
      workers = await startKilnWorkers(env, log, { metrics: http?.metrics }).catch(async (err: unknown) => {
        await http?.close();
        throw err;
      });
      const running = workers;
      installGracefulShutdown({
        log,
        what: "the workers' visits in progress",
        timeoutMs: env.KILN_SHUTDOWN_TIMEOUT,
        close: () => closeAll(running, http),
      });
    });
}

/** Workers first (readiness turns false as they stop), then the HTTP server. */
async function closeAll(workers: KilnWorkers, http: RunningHttpServer | undefined): Promise<void> {
  await workers.close();
  await http?.close();
}
