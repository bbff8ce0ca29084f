import type { Logger } from "pino";

/**
 * Wraps an event listener so it never throws into the emitter (an exception in an
 * EventEmitter listener would crash the process or skip the other listeners). Errors,
 * sync or async, are logged with `what` as context.
 */
export function safe<A extends unknown[]>(log: Logger, what: string, fn: (...args: A) => unknown): (...args: A) => void {
  return (...args: A) => {
    try {
      const result = fn(...args);
      if (result instanceof Promise) result.catch((err: unknown) => log.error({ err }, `${what} failed`));
    } catch (err) {
      log.error({ err }, `${what} failed`);
    }
  };
}
