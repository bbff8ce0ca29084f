import { GenerationResult } from "../contract/generation-result.js";
import { readState, reportedProgressOf, storedResultOf, type GenerationJob, type ReportedProgress } from "../queue/kiln-job.js";
import { runOf } from "../state/job-state.js";
import { tenantOfData } from "../contract/tenant.js";

/** Where a job stands, as `GenerationClient.get` and `list` report it. */
export interface GenerationStatus {
  id: string;
  queue: string;
  state: string;
  /** The request's tenant (`default` when it named none). */
  tenant: string;
  /** `{ step, providerStatus, progress }` once a worker has picked it up. */
  progress: ReportedProgress;
  result?: GenerationResult;
  failedReason?: string;
  /** Which run of the job this is, once it has been retried (2 after the first retry); absent for the first run. */
  run?: number;
}

/** A job read in `queue` after BullMQ reported it in `bullState` (read the state first: see `GenerationClient.get`). */
export function describeJob(job: GenerationJob, queue: string, bullState: string): GenerationStatus {
  // kiln's new jobs carry priority 1 (see NEW_WORK_PRIORITY), so BullMQ calls them prioritized: to a caller they are waiting
  const state = bullState === "prioritized" ? "waiting" : bullState;
  const result = GenerationResult.safeParse(job.returnvalue ?? storedResultOf(job));
  return {
    id: String(job.id),
    queue,
    state,
    tenant: tenantOfData(job.data),
    progress: reportedProgressOf(job),
    result: result.success ? result.data : undefined,
    failedReason: job.failedReason || undefined,
    run: runOf(readState(job)),
  };
}
