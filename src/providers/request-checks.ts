import { describeIssues, type GenerationRequest } from "../contract/generation-request.js";
import { isRecord } from "../util/describe-value.js";
import type { ModelSpec } from "./model-spec.js";
import { resolveModel, unknownModelMessage } from "./model-registry.js";

// The checks of a request against its models that producers and workers both make (`validateRequest`, `acceptJob`).

/**
 * Why a request's `reuse` cannot be honoured, naming the field, or undefined when it can. A
 * request without a `seed` in its input asks for a new sample each time; reusing one is asked
 * for explicitly (`reuse.unseeded`), never assumed.
 */
export function reuseProblem(request: Pick<GenerationRequest, "reuse">, model: ModelSpec, input: unknown): string | undefined {
  if (!request.reuse || request.reuse.unseeded) return undefined;
  const seed = isRecord(input) ? input.seed : undefined;
  if (seed !== undefined && seed !== null) return undefined;
  return (
    `reuse: input has no seed, so ${model.id} samples anew on every run and two runs differ; ` +
    "set input.seed, or reuse.unseeded: true to reuse an unseeded generation anyway"
  );
}

/**
 * Why a request's `fallbacks` cannot run, naming the field, or undefined: each must name a
 * model kiln knows (or take `passthrough`, as the request does) and an input that model accepts.
 */
export function fallbackProblem(request: GenerationRequest): string | undefined {
  for (const [index, fallback] of (request.fallbacks ?? []).entries()) {
    const where = `fallbacks.${index}`;
    const model = resolveModel(fallback.provider, fallback.model, request.passthrough);
    if (!model) return `${where}: ${unknownModelMessage(fallback.provider, fallback.model)}`;
    const input = model.input.safeParse(fallback.input ?? request.input);
    if (!input.success)
      return `${where}: invalid input for ${model.id}: ${describeIssues(input.error, fallback.input ? "input" : "(the request's input)")}`;
    // reuse holds at every model: a fallback sampling anew is no more reusable than the request's own model
    const noReuse = reuseProblem(request, model, input.data);
    if (noReuse) return `${where}: ${noReuse}`;
  }
  return undefined;
}
