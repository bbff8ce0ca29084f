import type { Logger } from "pino";
import type { JobState } from "../state/job-state.js";
import type { ModelKind } from "../providers/model-kind.js";
import type { Provider } from "../providers/provider.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import type { SecretScrubber } from "../util/secret-scrubber.js";
import type { AcceptedJob } from "./job-intake.js";
import type { OutputFetcher } from "../storage/output-fetcher.js";
import { outputLimitsFor, type OutputLimits } from "../storage/output-limits.js";
import type { StepContext } from "./steps/step-context.js";
import type { SlotGate } from "../inflight/slot-gate.js";
import { DEFAULT_ARCHIVE_WINDOW_MS, deadlineMsFor } from "./deadlines.js";
import type { Admission } from "./admission.js";
import type { VisitJob } from "./visit.js";
import { hasFallback, triggersOf } from "./fallback-targets.js";

/** Status answers in a row that no reading understands before a job fails `bad_response`: a few backed-off polls (about 15 s). */
const DEFAULT_MAX_BAD_ANSWERS = 5;

/** Another provider of this process, as a job that moved on to one of its models (a fallback) calls it. */
interface PeerProvider {
  provider: Provider;
  slots: SlotGate;
  /** @defaultValue "retry" */
  onUnknownSubmit?: "retry" | "fail";
}

/** What every step of a worker's jobs shares; see `GenerationWorkerOptions` for each setting's variable. */
export interface StepSettings {
  provider: Provider;
  /** The other providers this process holds keys for, by name: fallbacks run there. @defaultValue none */
  peers?: ReadonlyMap<string, PeerProvider>;
  store: ArchiveStore;
  fetcher: OutputFetcher;
  slots: SlotGate;
  planner: StepContext["planner"];
  log: Logger;
  /** The configured secrets; each job adds its own webhook secret. */
  secrets: SecretScrubber;
  /** @defaultValue each kind's poll policy */
  deadlines?: Partial<Record<ModelKind, number>>;
  /** @defaultValue `DEFAULT_OUTPUT_LIMITS` */
  outputLimits?: Partial<Record<ModelKind, Partial<Omit<OutputLimits, "kind">>>>;
  /** @defaultValue 1 h */
  archiveWindowMs?: number;
  /** @defaultValue "retry" */
  onUnknownSubmit?: "retry" | "fail";
  /** @defaultValue 5 */
  maxBadAnswers?: number;
  /** @defaultValue 1 */
  pollScale?: number;
  /** @defaultValue Math.random */
  random?: () => number;
  observeSubmitWindow: (ms: number) => void;
}

/** Builds the context each step of a visit is given, from the worker's settings and the job. */
export class StepContexts {
  constructor(private readonly settings: StepSettings) {
    const { maxBadAnswers } = settings;
    if (maxBadAnswers !== undefined && !(Number.isInteger(maxBadAnswers) && maxBadAnswers >= 1))
      throw new RangeError(`maxBadAnswers: expected a whole number of at least 1, got ${maxBadAnswers}`);
  }

  /** The deadline a task of this job's model runs under, ms. */
  deadlineMs(accepted: AcceptedJob): number {
    return deadlineMsFor(accepted.model, this.settings.deadlines);
  }

  /** `ms` at the worker's `KILN_POLL_SCALE`, at least 100 ms. */
  scaled(ms: number): number {
    return Math.max(100, ms * (this.settings.pollScale ?? 1));
  }

  /** Whether this worker can call `provider`: its own, or a peer it holds a key for. */
  serves(provider: string): boolean {
    return this.isOwn(provider) || (this.settings.peers?.has(provider) ?? false);
  }

  /** Whether `provider` is this worker's own (its queue's). */
  isOwn(provider: string): boolean {
    return provider === this.settings.provider.name;
  }

  /** `accepted` as the job's current model runs it (`retarget`); `attempt` is the state's. */
  for(
    job: VisitJob,
    accepted: AcceptedJob,
    persist: (state: JobState) => Promise<void>,
    admit: (state: JobState) => Promise<Admission>,
    attempt?: number,
  ): StepContext {
    const s = this.settings;
    const peer = this.isOwn(accepted.model.provider) ? undefined : s.peers?.get(accepted.model.provider);
    return {
      jobId: job.id,
      subject: job.subject,
      enqueuedAt: job.enqueuedAt,
      request: accepted.request,
      input: accepted.input,
      model: accepted.model,
      provider: peer?.provider ?? s.provider,
      store: s.store,
      fetcher: s.fetcher,
      slots: peer?.slots ?? s.slots,
      admit,
      log: s.log,
      persist,
      deadlineMs: this.deadlineMs(accepted),
      outputLimits: outputLimitsFor(accepted.model.kind, s.outputLimits),
      archiveWindowMs: s.archiveWindowMs ?? DEFAULT_ARCHIVE_WINDOW_MS,
      onUnknownSubmit: (peer ? peer.onUnknownSubmit : s.onUnknownSubmit) ?? "retry",
      observeSubmitWindow: s.observeSubmitWindow,
      planner: s.planner,
      maxBadAnswers: s.maxBadAnswers ?? DEFAULT_MAX_BAD_ANSWERS,
      secrets: this.secretsOf(accepted),
      pollScale: s.pollScale ?? 1,
      random: s.random ?? Math.random,
      now: Date.now,
      fallback: hasFallback(accepted.request, { attempt }) ? triggersOf(accepted.request) : undefined,
    };
  }

  /** The configured secrets and the job's own webhook secrets. */
  secretsOf(accepted: Pick<AcceptedJob, "request">): SecretScrubber {
    const webhook = accepted.request.webhook;
    return this.settings.secrets.with([webhook?.secret, ...(webhook?.secrets ?? [])]);
  }
}
