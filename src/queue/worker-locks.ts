/**
 * BullMQ's `lockDuration` for kiln's generation and webhook jobs (KILN_LOCK_DURATION): visits and
 * deliveries are short, so a killed worker's jobs come back soon.
 */
export const DEFAULT_LOCK_DURATION_MS = 10_000;
/** BullMQ's `stalledInterval` (KILN_STALLED_INTERVAL): with the lock above, a killed worker's jobs return within about 10–15 s. */
export const DEFAULT_STALLED_INTERVAL_MS = 5_000;
