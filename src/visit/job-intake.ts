import { GenerationRequest, describeIssues } from "../contract/generation-request.js";
import type { GenerationError } from "../contract/generation-result.js";
import { resolveModel, unknownModelMessage } from "../providers/model-registry.js";
import type { ModelSpec } from "../providers/model-spec.js";
import { isRecord } from "../util/describe-value.js";
import { DEFAULT_MAX_JOB_BYTES, jobSizeProblem } from "../contract/job-size.js";
import { isDotSegment } from "../contract/job-id.js";
import { fallbackProblem, reuseProblem } from "../providers/request-checks.js";

/** A job's data, checked: the request, its model and the model-checked input. */
export interface AcceptedJob {
  request: GenerationRequest;
  model: ModelSpec;
  input: Record<string, unknown>;
}

/** What intake checks of a job besides its data. */
export interface IntakeOptions {
  /** The job's id, refused when no URL can name it (`.` and `..`). */
  jobId?: string;
  /** Largest job data, bytes of JSON (`KILN_MAX_JOB_BYTES`). @defaultValue 1048576 (1 MiB) */
  maxJobBytes?: number;
}

/**
 * Validates job data from any producer (TypeScript, Python, raw Redis) against the contract
 * and the model's own input schema. A refusal names the field, so the producer can fix it.
 */
export function acceptJob(
  data: unknown,
  queueProvider: string,
  options: IntakeOptions = {},
): { ok: true; job: AcceptedJob } | { ok: false; error: GenerationError } {
  if (options.jobId !== undefined && isDotSegment(options.jobId))
    return refuse(`id: "${options.jobId}" cannot be a job id, since no URL can name it; choose another jobId`);
  if (isRecord(data) && Object.hasOwn(data, "kiln")) {
    // kiln keeps its state in the job's own hash: a `kiln` field is a forged or copied state, never ours
    return refuse(
      "kiln: reserved for kiln's own state, which no request may carry (enqueue the original request, not a finished job's data)",
    );
  }
  const parsed = GenerationRequest.safeParse(data);
  if (!parsed.success) return refuse(`invalid job data: ${describeIssues(parsed.error)}`);
  const request = parsed.data;
  // after the schema, which bounded the depth JSON.stringify walks; before the provider is sent it whole
  const tooBig = jobSizeProblem(request, options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES);
  if (tooBig) return refuse(tooBig);
  if (request.provider !== queueProvider) {
    return refuse(`provider: "${request.provider}" does not match this queue (generate-${queueProvider})`);
  }
  const model = resolveModel(request.provider, request.model, request.passthrough);
  if (!model) return refuse(unknownModelMessage(request.provider, request.model));
  const input = model.input.safeParse(request.input);
  if (!input.success) return refuse(`invalid input for ${model.id}: ${describeIssues(input.error, "input")}`);
  const noReuse = reuseProblem(request, model, input.data);
  if (noReuse) return refuse(noReuse);
  const badFallback = fallbackProblem(request);
  if (badFallback) return refuse(badFallback);
  return { ok: true, job: { request, model, input: input.data } };
}

function refuse(message: string): { ok: false; error: GenerationError } {
  return { ok: false, error: { code: "invalid_request", message, retryable: false } };
}
