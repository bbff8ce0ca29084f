import { z } from "zod";
import { DEFAULT_MAX_JOB_BYTES } from "../contract/job-size.js";
import { ByteSize, Deadline, Duration, PositiveNumber, WholeNumber } from "./values.js";

/** A duration from `min` to `max` ms, the range named in every refusal. */
function DurationIn(min: { ms: number; text: string }, max: { ms: number; text: string }) {
  return Duration.pipe(
    z
      .number()
      .min(min.ms, { message: `expected at least ${min.text}` })
      .max(max.ms, { message: `expected at most ${max.text}` }),
  );
}

/** How workers run jobs: how many at once, how big, how often they poll, how long they may take, recovery and shutdown. */
export const JobsConfig = z.object({
  /** Jobs per worker process at once: 1 to 1000. Default 50. */
  KILN_CONCURRENCY: WholeNumber(1, 1000).default(50),
  /** The largest job data, as JSON: 1 KiB to 512 MiB. Producers refuse a bigger request, workers fail a bigger job invalid_request. Default 1 MiB. */
  KILN_MAX_JOB_BYTES: ByteSize.pipe(
    z
      .number()
      .min(1024, { message: "expected at least 1KiB" })
      .max(512 * 1024 ** 2, { message: "expected at most 512MiB" }),
  ).default(DEFAULT_MAX_JOB_BYTES),
  /** Multiplies every poll delay and the in-flight slot timings: above 0, at most 100. Default 1. */
  KILN_POLL_SCALE: PositiveNumber.max(100, { message: "expected at most 100" }).default(1),
  /** When to poll a pending task: learned per model (`adaptive`, default) or a 1.5x backoff (`fixed`). */
  KILN_POLL_SCHEDULE: z.enum(["fixed", "adaptive"], { message: 'expected "fixed" or "adaptive"' }).default("adaptive"),
  /** Whether new submits make room while polls come back late (`on`, default) or always run up to KILN_CONCURRENCY (`off`). */
  KILN_SUBMIT_PACING: z.enum(["on", "off"], { message: 'expected "on" or "off"' }).default("on"),
  /** How long an image task may take, counted from its first submit: at least 1 s. Default 15 m. */
  KILN_DEADLINE_IMAGE: Deadline.optional(),
  /** The same for a video task: default 2 h. */
  KILN_DEADLINE_VIDEO: Deadline.optional(),
  /** The same for a 3D task: default 2 h. */
  KILN_DEADLINE_3D: Deadline.optional(),
  /** The same for an audio task: default 15 m. */
  KILN_DEADLINE_AUDIO: Deadline.optional(),
  /** The same for a text task: default 15 m. */
  KILN_DEADLINE_TEXT: Deadline.optional(),
  /** BullMQ's lock on an active job, recovery after a crash: 1 s to 10 m. Unset by default: 10 s. */
  KILN_LOCK_DURATION: DurationIn({ ms: 1000, text: "1s" }, { ms: 600_000, text: "10m" }).optional(),
  /** BullMQ's stalled check, how often lapsed locks are looked for: 500 ms to 10 m. Unset by default: 5 s. */
  KILN_STALLED_INTERVAL: DurationIn({ ms: 500, text: "500ms" }, { ms: 600_000, text: "10m" }).optional(),
  /** An in-flight slot's lease: a holder is checked after this long, a waiting job looks again after it. 1 s to 1 h. Default 25 s. */
  KILN_SLOT_LEASE: DurationIn({ ms: 1000, text: "1s" }, { ms: 3_600_000, text: "1h" }).default(25_000),
  /** A worker that fetches nothing for this long while work is due is recreated: 0 (off) or 1 s to 1 h. Default 20 s. */
  KILN_FETCH_WATCHDOG: Duration.pipe(
    z.number().refine((ms) => ms === 0 || (ms >= 1000 && ms <= 3_600_000), { message: "expected 0 (off) or 1s to 1h" }),
  ).default(20_000),
  /** Graceful close: visits in progress get this long, then are abandoned to the stalled check. At most 1 h. Default 20 s. */
  KILN_SHUTDOWN_TIMEOUT: Duration.pipe(z.number().min(0).max(3_600_000, { message: "expected at most 1h" })).default(20_000),
  /**
   * What a failed start-up check does (docs/operations.md, "Start-up checks"): `strict` stops
   * `kiln worker` with exit 2, `warn` logs it and starts anyway. Default `strict`.
   */
  KILN_STARTUP_CHECKS: z.enum(["strict", "warn"], { message: "expected strict or warn" }).default("strict"),
  /** How long `/readyz` reuses the archive probe's outcome before probing again: 1 s to 1 h. Default 30 s. */
  KILN_ARCHIVE_CHECK_INTERVAL: DurationIn({ ms: 1000, text: "1s" }, { ms: 3_600_000, text: "1h" }).default(30_000),
});
export type JobsConfig = z.infer<typeof JobsConfig>;
