import type { Logger } from "pino";
import { createLogger } from "../logger.js";

/**
 * The log of a command that prints a result: on stderr, so that stdout holds the result alone
 * (with `--json`, one JSON document a script can parse).
 */
export function stderrLogger(level = "warn"): Logger {
  return createLogger({ level, destination: process.stderr });
}

/** A command's result as one JSON document on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
