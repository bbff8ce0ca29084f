import { resolveModel, unknownModelMessage } from "../providers/model-registry.js";
import { GenerationRequest, describeIssues } from "../contract/generation-request.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { fallbackProblem, reuseProblem } from "../providers/request-checks.js";
import { DEFAULT_MAX_JOB_BYTES, jobSizeProblem } from "../contract/job-size.js";

/** Limits a producer applies to a request before it reaches Redis. */
export interface RequestLimits {
  /** Largest job data, bytes of JSON (`KILN_MAX_JOB_BYTES`). @defaultValue 1048576 (1 MiB) */
  maxJobBytes?: number;
}

/** The checks a worker would make, made before the request reaches Redis. */
export function validateRequest(request: unknown, limits: RequestLimits = {}): GenerationRequest {
  const parsed = GenerationRequest.safeParse(request);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
  // after the schema: it has bounded the depth that JSON.stringify walks
  const tooBig = jobSizeProblem(parsed.data, limits.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES);
  if (tooBig) throw new InvalidRequestError(tooBig);
  const { provider, model: modelId, input, passthrough } = parsed.data;
  const model = resolveModel(provider, modelId, passthrough);
  if (!model) throw new InvalidRequestError(unknownModelMessage(provider, modelId));
  const checked = model.input.safeParse(input);
  if (!checked.success) throw new InvalidRequestError(`invalid input for ${model.id}: ${describeIssues(checked.error, "input")}`);
  const noReuse = reuseProblem(parsed.data, model, checked.data);
  if (noReuse) throw new InvalidRequestError(noReuse);
  const badFallback = fallbackProblem(parsed.data);
  if (badFallback) throw new InvalidRequestError(badFallback);
  return parsed.data;
}
