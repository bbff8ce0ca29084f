import type { GenerationError } from "../contract/generation-result.js";
import type { JobState } from "../state/job-state.js";

/**
 * The error that ends a job whose cancel was asked for, if it was. Every state write reports the
 * job's cancel request, so a look of its own (`cancelRequest`) is needed only before a step with
 * side effects (submit, archive) when the visit has written nothing yet; a poll goes ahead
 * unchecked (asking for a status changes nothing) and the write after it tells. A pending poll
 * visit thus makes no Redis call for it.
 */
export async function cancelledError(
  // what it reads of a `Visit`: its job's id, and the cancel request as the visit knows it
  visit: { job: { id: string }; cancel: { known: boolean; reason?: string } },
  state: JobState,
  cancelRequest: (jobId: string) => Promise<string | undefined>,
): Promise<GenerationError | undefined> {
  const reason = visit.cancel.known ? visit.cancel.reason : state.step === "poll" ? undefined : await cancelRequest(visit.job.id);
  if (reason === undefined) return undefined;
  return { code: "cancelled", message: reason || "cancelled by request", retryable: false };
}
