import type { SecretScrubber } from "../../util/secret-scrubber.js";
import type { Logger } from "pino";
import type { GenerationRequest } from "../../contract/generation-request.js";
import type { ModelSpec } from "../../providers/model-spec.js";
import type { Provider } from "../../providers/provider.js";
import type { ArchiveStore } from "../../storage/archive-store.js";
import type { JobState } from "../../state/job-state.js";
import type { OutputFetcher } from "../../storage/output-fetcher.js";
import type { OutputLimits } from "../../storage/output-limits.js";
import type { PollPlanner } from "../../polling/poll-planner.js";
import type { Admission } from "../admission.js";
import type { SlotGate } from "../../inflight/slot-gate.js";
import type { Triggers } from "../fallback-targets.js";

/** Everything a step needs about its job and the world, so steps stay free of BullMQ. */
export interface StepContext {
  jobId: string;
  /** The job's `eventSubject`: what its webhook event ids are derived from. */
  subject: string;
  /** When the producer added the job (ms): it dates the archive keys, so they never change. */
  enqueuedAt: number;
  request: GenerationRequest;
  /** `request.input` after the model's own schema checked it. */
  input: Record<string, unknown>;
  model: ModelSpec;
  provider: Provider;
  store: ArchiveStore;
  fetcher: OutputFetcher;
  slots: SlotGate;
  /** Asks the visit's hooks (a batch's budget) whether the submit may go ahead, once the job holds its slot. */
  admit: (state: JobState) => Promise<Admission>;
  log: Logger;
  /** Writes the job's state to Redis; resolves when it is stored. */
  persist: (state: JobState) => Promise<void>;
  /** What to do when a submit's outcome is unknown (`KILN_<PROVIDER>_ON_UNKNOWN_SUBMIT`). */
  onUnknownSubmit: "retry" | "fail";
  /** Reports the time from a submit answer's arrival to its task id being stored, ms. */
  observeSubmitWindow: (ms: number) => void;
  /** What one output of the job's model kind may cost to download (`KILN_MAX_OUTPUT_BYTES_<KIND>`, `KILN_DOWNLOAD_TIMEOUT_<KIND>`). */
  outputLimits: OutputLimits;
  /** How long archiving may retry after the provider finished, ms (`KILN_ARCHIVE_DEADLINE`). */
  archiveWindowMs: number;
  /** How long the provider's task may take, from the first submit (`KILN_DEADLINE_<KIND>`, else the model kind's default). */
  deadlineMs: number;
  /** When to poll a pending task next (KILN_POLL_SCHEDULE), and learning from finished ones. */
  planner: Pick<PollPlanner, "plan" | "learn">;
  /** Status answers in a row no reading understands before the job fails `bad_response` (KILN_MAX_BAD_ANSWERS). */
  maxBadAnswers: number;
  /** The configured credentials and the job's own webhook secret: replaced wherever provider text reaches a log or a result. */
  secrets: SecretScrubber;
  /** Multiplies poll delays (KILN_POLL_SCALE). */
  pollScale: number;
  random: () => number;
  now: () => number;
  /** The request's fallback triggers, when a model is left to move on to after this one (docs/fallbacks.md). */
  fallback?: Triggers;
}

/** What any step needs to turn an error into its outcome (`outcomeOfError`): retries, backoff, the deadline. */
export type RetryContext = Pick<StepContext, "jobId" | "log" | "now" | "random" | "pollScale" | "archiveWindowMs">;

/** What the submit step sees: the provider and the job's input, its slot, its hooks' admission, its deadline. */
export type SubmitContext = RetryContext &
  Pick<
    StepContext,
    | "provider"
    | "model"
    | "input"
    | "enqueuedAt"
    | "request"
    | "slots"
    | "admit"
    | "persist"
    | "deadlineMs"
    | "onUnknownSubmit"
    | "observeSubmitWindow"
    | "planner"
    | "fallback"
  >;

/** What the poll step sees: the provider, the poll schedule, and what an unreadable answer needs. */
export type PollContext = RetryContext &
  Pick<StepContext, "provider" | "model" | "input" | "planner" | "maxBadAnswers" | "secrets" | "slots" | "request">;

/** What the archive step sees: the store, the download, the limits, and what the archive keys are made of. */
export type ArchiveContext = RetryContext &
  Pick<StepContext, "store" | "fetcher" | "outputLimits" | "request" | "enqueuedAt" | "model" | "persist">;
