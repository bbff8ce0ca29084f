import type { JobsOptions } from "bullmq";

/**
 * BullMQ priority of a generation job that has not been submitted yet. BullMQ serves its wait
 * list (priority 0) before its prioritized set, and a job promoted from the delayed set goes to
 * the wait list when its priority is 0: kiln sets a job's priority to 0 once the task is
 * submitted, so a poll that is due never waits behind a backlog of new submissions, while new
 * jobs stay first-in first-out among themselves (BullMQ orders equal priorities by insertion).
 */
const NEW_WORK_PRIORITY = 1;

/** The options every producer of kiln's (client, batch producer, HTTP API) gives a generation job. */
export function generationJobOptions(): JobsOptions {
  return {
    priority: NEW_WORK_PRIORITY,
    attempts: 3,
    backoff: { type: "exponential", delay: 10_000 },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}
