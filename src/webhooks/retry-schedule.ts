import { z } from "zod";

/**
 * Delays between delivery attempts, in ms, after the first (immediate) one: Svix's schedule,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, so a receiver can be down most of a day.
 */
export const DEFAULT_WEBHOOK_SCHEDULE_MS: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000].map((s) => s * 1000);

/**
 * Most retries a schedule may hold. Deliveries are enqueued with this many + 1 BullMQ attempts,
 * a ceiling only: the worker's schedule decides when to give up, so changing the schedule
 * needs no change to jobs already queued.
 */
export const MAX_WEBHOOK_RETRIES = 20;

/** Longest single step of a schedule, and longest Retry-After honoured: a day. */
export const MAX_WEBHOOK_DELAY_MS = 24 * 3600_000;

export interface RetryDelayOptions {
  /** Delays after each failed attempt, ms. @defaultValue DEFAULT_WEBHOOK_SCHEDULE_MS */
  schedule?: readonly number[];
  /** Uniform [0, 1) source for jitter. @defaultValue Math.random */
  random?: () => number;
  /** The receiver's Retry-After, ms, when it sent one. @defaultValue 0 */
  retryAfterMs?: number;
}

/**
 * Delay before attempt `attemptsMade + 1`: the schedule's entry for `attemptsMade` (1-based:
 * after the first failure comes schedule[0]) with ±20% jitter, so receivers coming back from an
 * outage are not hit by every message at once; never below the receiver's Retry-After (capped
 * at a day, so a hostile header cannot park a message forever). -1 when the schedule is
 * exhausted (BullMQ then fails the job).
 *
 *   delay(n) = max(schedule[n-1] × U(0.8, 1.2), min(retryAfter, 24 h))
 */
export function webhookRetryDelayMs(attemptsMade: number, options: RetryDelayOptions = {}): number {
  const { schedule = DEFAULT_WEBHOOK_SCHEDULE_MS, random = Math.random, retryAfterMs = 0 } = options;
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return -1;
  return Math.round(Math.max(base * (0.8 + 0.4 * random()), Math.min(retryAfterMs, MAX_WEBHOOK_DELAY_MS)));
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** Thrown by `parseRetrySchedule`; the message says which entry is wrong and why. */
class RetryScheduleError extends Error {
  override name = "RetryScheduleError";
}

/**
 * Parses a schedule such as `5s,5m,30m,2h,5h,10h,10h` (units ms, s, m, h; decimals allowed)
 * into ms. Every entry needs a unit, because a bare `5` could mean seconds or milliseconds.
 */
export function parseRetrySchedule(text: string): number[] {
  const entries = text.split(",").map((s) => s.trim());
  if (entries.length > MAX_WEBHOOK_RETRIES) throw new RetryScheduleError(`at most ${MAX_WEBHOOK_RETRIES} retries, got ${entries.length}`);
  return entries.map(parseDelay);
}

function parseDelay(entry: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(entry);
  if (!match) throw new RetryScheduleError(`"${entry}" is not a delay like 500ms, 5s, 5m or 2h`);
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? Number.NaN));
  if (!(ms <= MAX_WEBHOOK_DELAY_MS)) throw new RetryScheduleError(`"${entry}" is longer than 24h`);
  return ms;
}

/** Checks a schedule given in code; the message names the option and the allowed range. */
export function checkSchedule(schedule: readonly number[], option: string): readonly number[] {
  if (schedule.length > MAX_WEBHOOK_RETRIES)
    throw new RangeError(`${option}: at most ${MAX_WEBHOOK_RETRIES} retries, got ${schedule.length}`);
  const bad = schedule.find((ms) => !Number.isFinite(ms) || ms < 0 || ms > MAX_WEBHOOK_DELAY_MS);
  if (bad !== undefined) throw new RangeError(`${option}: every delay must be 0 to ${MAX_WEBHOOK_DELAY_MS} ms, got ${bad}`);
  return schedule;
}

/** A schedule as an environment variable holds it (`5s,5m,30m`), parsed to ms; issues say what is wrong. */
export const RetryScheduleText = z.string().transform((text, ctx) => {
  try {
    return parseRetrySchedule(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `${(err as Error).message} (expected e.g. 5s,5m,30m,2h,5h,10h,10h)` });
    return z.NEVER;
  }
});
