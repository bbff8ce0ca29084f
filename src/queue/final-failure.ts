import { UnrecoverableError, type Job } from "bullmq";

/** BullMQ's UnrecoverableError (kiln throws it to end a job without another attempt). */
export function isUnrecoverableError(err: unknown): boolean {
  return err instanceof UnrecoverableError;
}

/** A `failed` event is final when BullMQ will not try again: unrecoverable, or out of attempts (attemptsMade already counts this one). */
export function isFinalFailure(job: Pick<Job, "attemptsMade" | "opts">, err: unknown): boolean {
  return isUnrecoverableError(err) || job.attemptsMade >= (job.opts.attempts ?? 1);
}
