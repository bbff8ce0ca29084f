import { AsyncLocalStorage } from "node:async_hooks";

/** When the latest provider answer of one call chain arrived (`performance.now()`). */
interface AnswerTimes {
  answeredAt?: number;
}

const clock = new AsyncLocalStorage<AnswerTimes>();

/**
 * Runs `call` and reports when the provider's answer arrived (its headers), so the submit
 * window (answer received → task id stored) is measured from the wire, not from whenever the
 * provider code finished parsing. Providers need no change: `callJson` notes the time.
 */
export async function timingAnswer<T>(call: () => Promise<T>): Promise<{ value: T; answeredAt: number | undefined }> {
  const times: AnswerTimes = {};
  const value = await clock.run(times, call);
  return { value, answeredAt: times.answeredAt };
}

/** Called by the HTTP layer when an answer's headers arrive; a no-op outside `timingAnswer`. */
export function noteAnswer(): void {
  const times = clock.getStore();
  if (times) times.answeredAt = performance.now();
}
