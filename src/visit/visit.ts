import type { JobState } from "../state/job-state.js";
import type { StoredState } from "../state/job-state.js";
import type { AcceptedJob } from "./job-intake.js";
import type { StepContext } from "./steps/step-context.js";

/** The job a visit runs, as the queue adapter hands it over: what it is, and how its state is stored. */
export interface VisitJob {
  id: string;
  /** The job's `eventSubject`: what its webhook event ids are derived from. */
  subject: string;
  /** When the producer added the job, ms. */
  enqueuedAt: number;
  /** Which attempt of the queue this visit belongs to (BullMQ's `attemptsStarted`). */
  attempt: number;
  /** The producer traced the job: its trace context travels with it, so no first-visit span is kept. */
  traced: boolean;
  /** The state stored by the job's last visit, as read when this visit began. */
  stored: StoredState;
  /**
   * Stores the job's state, only while this visit still holds the job (else it throws).
   * `firstInLine` puts the job ahead of new submissions once it is waiting again. Answers with
   * the job's cancel request, when one was made.
   */
  writeState(state: JobState, firstInLine?: boolean): Promise<{ cancelReason?: string }>;
}

/** One visit of one job: the job, its checked request and what its steps are given. */
export interface Visit {
  job: VisitJob;
  accepted: AcceptedJob;
  ctx: StepContext;
  /** The job's cancel request as this visit knows it: `known` once a state write of the visit told. */
  cancel: { known: boolean; reason?: string };
}
