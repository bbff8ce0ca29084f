import { readState, type GenerationJob } from "../queue/kiln-job.js";
import { eventSubject } from "../contract/webhook-message.js";
import { runOf, type StoredState } from "../state/job-state.js";
import type { VisitJob } from "../visit/visit.js";
import type { JobStateStore } from "./job-state-store.js";

/** What a result and a webhook say of a BullMQ job: its id, its event subject (of its current run), when it was enqueued. */
export function jobIdentity(
  job: GenerationJob,
  queueName: string,
  stored: StoredState = readState(job),
): Pick<VisitJob, "id" | "subject" | "enqueuedAt"> {
  const id = String(job.id);
  return { id, subject: eventSubject(queueName, id, job.timestamp, runOf(stored)), enqueuedAt: job.timestamp };
}

/** The visit pipeline's port on a BullMQ job held with `token`: its state, read as the visit began, and written checked against the lock. */
export function visitJobOf(job: GenerationJob, queueName: string, token: string | undefined, states: JobStateStore): VisitJob {
  // read (and validated) once per visit: the identity's run and the state to resume are the same read
  const stored = readState(job);
  return {
    ...jobIdentity(job, queueName, stored),
    attempt: job.attemptsStarted,
    traced: job.opts.telemetry?.metadata !== undefined,
    stored,
    writeState: (state, firstInLine) => states.write(job, token, state, firstInLine),
  };
}
