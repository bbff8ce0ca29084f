import { Command, InvalidArgumentError } from "commander";
import { loadEnvironment, secretScrubberOf } from "../config/index.js";
import { createLogger } from "../logger.js";
import { startHttpServer } from "../server/index.js";
import { installGracefulShutdown } from "./graceful-shutdown.js";

/** `kiln server`: the HTTP API alone (status, enqueue, batches, health, metrics), without workers. */
export function serverCommand(): Command {
  return new Command("server")
    .description("serve the HTTP API (job status, enqueue, health, readiness, metrics) without running workers")
    .option("--port <port>", "TCP port (default KILN_HTTP_PORT, else 8080)", parsePort)
    .option("--host <host>", "interface to bind (default KILN_HTTP_HOST, else 0.0.0.0)")
    .action(async (o: { port?: number; host?: string }) => {
      const env = loadEnvironment();
      const log = createLogger({ level: env.LOG_LEVEL, secrets: secretScrubberOf(env) });
      const http = await startHttpServer(env, log, { port: o.port, host: o.host });
      installGracefulShutdown({
        log,
        what: "the HTTP requests in progress",
        timeoutMs: env.KILN_SHUTDOWN_TIMEOUT,
        close: () => http.close(),
      });
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError("expected a port from 0 to 65535");
  return port;
}
