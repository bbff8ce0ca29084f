import { z } from "zod";
import type { GenerationStatus } from "../producers/generation-client.js";
import { ArchivedOutput, GenerationError, GenerationResult } from "../contract/generation-result.js";

/** The body of `GET /v1/generations/{id}`: where a job stands, flat, plus its result once it has one. */
export const GenerationView = z.object({
  id: z.string(),
  provider: z.string(),
  queue: z.string(),
  /** The request's tenant (`default` when it named none). */
  tenant: z.string(),
  /** BullMQ's state: waiting (BullMQ's `prioritized` included), active, delayed, completed, failed, … */
  state: z.string(),
  /** kiln's step: submit, poll, archive, done. */
  step: z.string().optional(),
  providerStatus: z.string().optional(),
  /** Percent, when the provider reports it. */
  progress: z.number().optional(),
  /** Archived outputs so far (all of them once completed). */
  outputs: z.array(ArchivedOutput),
  error: GenerationError.pick({ code: true, message: true }).optional(),
  result: GenerationResult.optional(),
});
export type GenerationView = z.infer<typeof GenerationView>;

/** Flattens a `GenerationClient.get` answer into the API's view. */
export function toGenerationView(status: GenerationStatus): GenerationView {
  // a job not yet picked up reports BullMQ's number: no step yet
  const progress = typeof status.progress === "object" ? status.progress : undefined;
  return {
    id: status.id,
    provider: status.queue.replace(/^generate-/, ""),
    queue: status.queue,
    tenant: status.tenant,
    state: status.state,
    step: progress?.step,
    providerStatus: progress?.providerStatus,
    progress: progress?.progress,
    outputs: status.result?.outputs ?? [],
    error: status.result?.error
      ? { code: status.result.error.code, message: status.result.error.message }
      : errorOfReason(status.failedReason),
    result: status.result,
  };
}

/** A failed reason reads `<code>: <message>` when the state machine failed the job; anything else is internal. */
function errorOfReason(reason: string | undefined): GenerationView["error"] {
  if (!reason) return undefined;
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(reason);
  const code = GenerationError.shape.code.safeParse(match?.[1]);
  return code.success ? { code: code.data, message: match?.[2] ?? reason } : { code: "internal", message: reason };
}
