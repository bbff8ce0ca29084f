import { z } from "zod";
import { ArchivedOutput, GenerationResult } from "../contract/generation-result.js";
import { Completion } from "../contract/completion.js";
import { Usage } from "../contract/usage.js";
import { FallbackAttempt } from "../contract/generation-result.js";

const OutputSource = z.object({
  url: z.string().optional(),
  inline: z.object({ encoding: z.enum(["base64", "hex", "utf8"]), data: z.string() }).optional(),
  ext: z.string().optional(),
  contentType: z.string().optional(),
  role: z.string().optional(),
  expiresAt: z.string().optional(),
});

/** What every step's state may hold; each step's schema below makes required what that step needs. */
const stateFields = {
  /** When a worker first picked the job up (the result's `timings.startedAt`). */
  startedAt: z.number(),
  /** When the provider's task must be done by: set at the first submit (see `src/visit/deadlines.ts`); a placeholder before it. */
  deadlineAt: z.number(),
  /** Submit calls started. Above 1 without a task id means a crash hit the submit window. */
  submitCalls: z.number().int().default(0),
  /** The job holds an in-flight slot (taken before submit, given back when the task ends). */
  slot: z.boolean().default(false),
  taskId: z.string().optional(),
  /** Task ids read from answers kiln could not use (a truncated 2xx): logged if the job is submitted again. */
  unknownTaskIds: z.array(z.string()).optional(),
  submittedAt: z.number().optional(),
  /** Status requests made so far; drives the poll backoff. */
  polls: z.number().int().default(0),
  /** Consecutive transient errors; drives the retry backoff, reset by any success. */
  errors: z.number().int().default(0),
  lastError: z.string().optional(),
  /**
   * Status answers in a row that no reading understood; reset by a readable one, untouched by
   * errors that are no answer (a 5xx, a reset). At the worker's limit the job fails `bad_response`.
   */
  badAnswers: z.number().int().optional(),
  providerStatus: z.string().optional(),
  progress: z.number().optional(),
  /** The provider's last few progress reports (ms since the submit, percent): the poll schedule extrapolates them. */
  progressSamples: z.array(z.object({ atMs: z.number(), progress: z.number() })).optional(),
  /** When a status request last found the task pending: the task finished after it. */
  lastPendingAt: z.number().optional(),
  /**
   * The chance the poll now due finds the task done, as the poll schedule saw it when it set the
   * poll (0–1): behind a provider's full rate window, likelier polls go first.
   */
  pollChance: z.number().min(0).max(1).optional(),
  providerCompletedAt: z.number().optional(),
  /** The provider's outputs, once the task succeeded. */
  sources: z.array(OutputSource).optional(),
  completion: Completion.optional(),
  /** The task's usage, read from the provider's final answer. */
  usage: Usage.optional(),
  /** Outputs already archived, by index: a re-run skips them. */
  archived: z.array(ArchivedOutput).default([]),
  archivedAt: z.number().optional(),
  /** When the last `generation.progress` went out: they are at least 500 ms apart. */
  lastProgressAt: z.number().optional(),
  /** Which model the job runs now: 0 the request's own, n its `fallbacks[n - 1]`. */
  attempt: z.number().int().min(0).optional(),
  /** The models tried before the current one, and why each was left (the result's `attempts`). */
  attempts: z.array(FallbackAttempt).optional(),
  /** Submits in a row of the current model that ended with a 5xx or no answer (the `failedSubmits` trigger). */
  failedSubmits: z.number().int().optional(),
  /** When the job began waiting for an in-flight slot or the rate at its current model (the `maxWait` trigger). */
  waitingSince: z.number().optional(),
  /** The job whose identical generation this one copied (`reuse`): the job submitted nothing. */
  reusedFrom: z.string().optional(),
  /** The final result, set when the job fails; a completed job's is built as it is sent. */
  result: GenerationResult.optional(),
  /**
   * W3C `traceparent` of the job's first visit, kept when the job came without a trace context
   * (an untraced producer) and kiln traces: later visits' spans join that trace.
   */
  trace: z.string().max(100).optional(),
  /**
   * Which run of the job this is: absent in the first, 2 after the first retry of the failed job
   * (`GenerationClient.retry`), and so on. Part of the job's webhook ids, so a run's events are
   * new events to a receiver, never duplicates of the run before it.
   */
  run: z.number().int().min(2).optional(),
};

/** Waiting to be submitted, or submitting: no task yet (a re-run that finds a task id goes on to poll). */
export const SubmitState = z.object({ ...stateFields, step: z.literal("submit") });
export type SubmitState = z.infer<typeof SubmitState>;

/** Polling the provider's task: its id is known. */
export const PollState = z.object({ ...stateFields, step: z.literal("poll"), taskId: z.string() });
export type PollState = z.infer<typeof PollState>;

/** Archiving the outputs of a task that succeeded: its sources and when it finished are known. */
export const ArchiveState = z.object({
  ...stateFields,
  step: z.literal("archive"),
  sources: z.array(OutputSource),
  providerCompletedAt: z.number(),
});
export type ArchiveState = z.infer<typeof ArchiveState>;

/** Sending the result and ending the job (completed, or failed with its result stored). */
const NotifyState = z.object({ ...stateFields, step: z.literal("notify") });

/**
 * The worker's progress through one job, kept in the job's own hash (`JobStateStore`, never in
 * the producer's data) and written before each side effect, so a job picked up again (after a
 * crash, a delay, a restart) resumes where it was. One shape per step, told apart by `step`.
 * Stored as the plain JSON object of its fields, the same for every step, so a state written
 * by an earlier version (one object with every field optional) reads as the union.
 */
export const JobState = z.discriminatedUnion("step", [SubmitState, PollState, ArchiveState, NotifyState]);
export type JobState = z.infer<typeof JobState>;

/** The first state of a run; `run` is the retry's number (absent for the job's first run). */
export function initialState(now: number, deadlineMs: number, run?: number): SubmitState {
  const state: SubmitState = {
    step: "submit",
    startedAt: now,
    deadlineAt: now + deadlineMs,
    submitCalls: 0,
    slot: false,
    polls: 0,
    errors: 0,
    archived: [],
  };
  return run === undefined ? state : { ...state, run };
}

/**
 * What a retry leaves in a failed job's state field: nothing of the run that failed, only the
 * number of the run to come. The worker starts it as a new job's (`initialState`) with that number.
 */
export const RetriedState = z.strictObject({ run: z.number().int().min(2) });
export type RetriedState = z.infer<typeof RetriedState>;

/**
 * What a job's state field holds: no state yet (a new job, or a retried one with the number of
 * its next run), kiln's state, or one that does not parse (never resumed from).
 */
export type StoredState = { kind: "none"; run?: number } | { kind: "state"; state: JobState } | { kind: "unreadable"; reason: string };

/** The run a stored state belongs to (see `stateFields.run`): undefined for a job's first. */
export function runOf(stored: StoredState): number | undefined {
  if (stored.kind === "none") return stored.run;
  return stored.kind === "state" ? stored.state.run : undefined;
}
