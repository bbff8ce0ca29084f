import type { GenerationClient } from "../producers/generation-client.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { describeIssues, type GenerationRequest } from "../contract/generation-request.js";
import { isIdConflictError } from "../contract/id-conflict-error.js";
import { HttpError } from "./api-error.js";
import { EnqueueBody } from "./enqueue-body.js";

/** What `POST /v1/generations` did: added a job, or found the same request already under that id. */
export interface EnqueueOutcome {
  created: boolean;
  id: string;
  provider: string;
}

/**
 * Validates and enqueues one request. With an `id`, the call is idempotent: the same request
 * again finds the existing job (created: false); a different request under a used id is a 409.
 */
export async function enqueueGeneration(
  body: unknown,
  client: GenerationClient,
  options: { opaqueConflicts?: boolean } = {},
): Promise<EnqueueOutcome> {
  const { id, request } = splitBody(body);
  try {
    return await client.enqueueOnce(request as GenerationRequest, { id });
  } catch (err) {
    if (isIdConflictError(err))
      throw new HttpError(
        409,
        "conflict",
        options.opaqueConflicts ? `id ${id ?? ""} is already used by a different request; choose another id` : err.message,
      );
    throw err;
  }
}

function splitBody(body: unknown): { id?: string; request: unknown } {
  const parsed = EnqueueBody.safeParse(body);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
  const { id, ...request } = parsed.data;
  return { id, request };
}
