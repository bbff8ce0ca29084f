import { UnrecoverableError, type Job } from "bullmq";

/**
 * Ends a job without another attempt, for a reason kiln chose (`task_failed: …`, a webhook
 * receiver's 410): BullMQ's UnrecoverableError without a stack trace, so the job keeps its coded
 * reason alone. The stack would only name kiln's own source lines, in Redis and on the dashboard;
 * a job that fails by surprise (a bug) keeps its stack.
 */
export function finalFailure(reason: string): UnrecoverableError {
  const err = new UnrecoverableError(reason);
  err.stack = undefined;
  return err;
}

/** BullMQ's UnrecoverableError (kiln throws it to end a job without another attempt). */
export function isUnrecoverableError(err: unknown): boolean {
  return err instanceof UnrecoverableError;
}

/** A `failed` event is final when BullMQ will not try again: unrecoverable, or out of attempts (attemptsMade already counts this one). */
export function isFinalFailure(job: Pick<Job, "attemptsMade" | "opts">, err: unknown): boolean {
  return isUnrecoverableError(err) || job.attemptsMade >= (job.opts.attempts ?? 1);
}
