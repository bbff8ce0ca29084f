import { Command } from "commander";
import { loadEnvironment } from "../config.js";
import { createLogger } from "../logger.js";
import { startKilnWorkers } from "../workers/kiln-workers.js";

/** `kiln worker`: generation workers for every provider with credentials, and the webhook worker. */
export function workerCommand(): Command {
  return new Command("worker").description("run the generation workers (providers with credentials) and the webhook worker").action(async () => {
    const env = loadEnvironment();
    const log = createLogger({ level: env.LOG_LEVEL });
    const workers = await startKilnWorkers(env, log);
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, "closing workers: finishing the visits in progress");
      workers.close().then(() => process.exit(0), (err: unknown) => {
        log.error({ err }, "close failed");
        process.exit(1);
      });
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });
}
