import { z } from "zod";

/**
 * The `data` of `generation.started` and `generation.progress`: where a running job stands.
 * Deliberately small, because progress events can be frequent; the full result comes with
 * `generation.completed` / `generation.failed`.
 */
export const GenerationProgress = z.object({
  /** The generation job's id. */
  id: z.string(),
  provider: z.string(),
  model: z.string(),
  status: z.literal("running"),
  /** The job's step: `submit`, `poll` or `archive` (a string, so new steps do not break receivers). */
  step: z.string(),
  /** The provider's own status word, e.g. `queued`, `in_progress`. */
  providerStatus: z.string().optional(),
  /** Percent done, when the provider reports it. */
  progress: z.number().optional(),
  /** The request's metadata, returned as given. */
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** The request's tenant (`default` when it named none). */
  tenant: z.string().optional(),
});
export type GenerationProgress = z.infer<typeof GenerationProgress>;

/**
 * The progress record of a job from what the generation worker holds: its identity and its
 * state's step and provider status. Absent fields stay absent, so the body stays small.
 */
export function generationProgress(
  job: { id: string; provider: string; model: string; metadata?: Record<string, unknown>; tenant?: string },
  state: { step: string; providerStatus?: string; progress?: number },
): GenerationProgress {
  const data: GenerationProgress = { id: job.id, provider: job.provider, model: job.model, status: "running", step: state.step };
  if (state.providerStatus !== undefined) data.providerStatus = state.providerStatus;
  if (state.progress !== undefined) data.progress = state.progress;
  if (job.metadata !== undefined) data.metadata = job.metadata;
  if (job.tenant !== undefined) data.tenant = job.tenant;
  return data;
}
