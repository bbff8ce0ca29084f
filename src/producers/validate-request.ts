import { resolveModel, unknownModelMessage } from "../providers/model-registry.js";
import { GenerationRequest, describeIssues } from "./generation-request.js";
import { InvalidRequestError } from "./invalid-request-error.js";

/** The checks a worker would make, made before the request reaches Redis. */
export function validateRequest(request: unknown): GenerationRequest {
  const parsed = GenerationRequest.safeParse(request);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
  const { provider, model: modelId, input, passthrough } = parsed.data;
  const model = resolveModel(provider, modelId, passthrough);
  if (!model) throw new InvalidRequestError(unknownModelMessage(provider, modelId));
  const checked = model.input.safeParse(input);
  if (!checked.success) throw new InvalidRequestError(`invalid input for ${model.id}: ${describeIssues(checked.error, "input")}`);
  return parsed.data;
}
