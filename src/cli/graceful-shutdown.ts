import type { Logger } from "pino";
import { shutdownTracing } from "../telemetry/tracing.js";

export interface GracefulShutdownOptions {
  log: Logger;
  /** What the process stops: finishes work in progress, then resolves. */
  close: () => Promise<void>;
  /** How long `close` may take before the process exits anyway, ms (`KILN_SHUTDOWN_TIMEOUT`). */
  timeoutMs: number;
  /** Says what is being closed, for the log. */
  what: string;
  /** @defaultValue process.exit */
  exit?: (code: number) => void;
}

const SIGNAL_EXIT_CODES = { SIGTERM: 143, SIGINT: 130 } as const;

/**
 * Signal handling for long-running commands:
 * - the first SIGTERM or SIGINT closes gracefully, bounded by `timeoutMs`: exit 0 when the
 *   close finished in time, 1 when the bound cut it short (the work it abandoned is picked up
 *   again by another worker's stalled check, so nothing is lost, only delayed);
 * - a second signal exits at once (128 + the signal's number), as an impatient operator expects;
 * - an unhandled rejection or uncaught exception is logged and exits 1: a worker in an unknown
 *   state must not go on taking jobs.
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): void {
  const { log, timeoutMs, what } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let closing = false;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT_CODES) => {
    if (closing) {
      log.warn({ signal }, `second ${signal}: exiting at once, without waiting for ${what}`);
      exit(SIGNAL_EXIT_CODES[signal]);
      return;
    }
    closing = true;
    log.info({ signal, timeoutMs }, `closing ${what}: finishing the work in progress (a second signal exits at once)`);
    const timer = setTimeout(() => {
      log.error(
        { timeoutMs },
        `shutdown bound reached: exiting before ${what} finished; their jobs return to the queue through the stalled check`,
      );
      exit(1);
    }, timeoutMs);
    timer.unref();
    options
      .close()
      // the spans of the last visits go out before the process does; a collector that is down delays, never fails, the exit
      .then(() => shutdownTracing().catch((err: unknown) => log.warn({ err }, "tracing shutdown failed: spans lost")))
      .then(
        () => {
          clearTimeout(timer);
          exit(0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          log.error({ err }, "close failed");
          exit(1);
        },
      );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("unhandledRejection", (reason: unknown) => {
    log.fatal({ err: reason }, "unhandled promise rejection: exiting");
    exit(1);
  });
  process.on("uncaughtException", (err: Error) => {
    log.fatal({ err }, "uncaught exception: exiting");
    exit(1);
  });
}
