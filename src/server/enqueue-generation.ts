import { isDeepStrictEqual } from "node:util";
import type { GenerationClient } from "../producers/generation-client.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { validateRequest } from "../producers/validate-request.js";
import { GenerationRequest, describeIssues } from "../contract/generation-request.js";
import { isRecord } from "../util/describe-value.js";
import { HttpError } from "./api-error.js";
import { EnqueueBody } from "./enqueue-body.js";
import type { PartitionedQueues } from "../queue/partitioned-queues.js";

/** What `POST /v1/generations` did: added a job, or found the same request already under that id. */
export interface EnqueueOutcome {
  created: boolean;
  id: string;
  provider: string;
}

/**
 * Validates and enqueues one request. With an `id`, the call is idempotent: the same request
 * again finds the existing job (created: false); a different request under a used id is a 409,
 * since silently returning someone else's job would hide a producer bug.
 */
export async function enqueueGeneration(body: unknown, client: GenerationClient, queues: PartitionedQueues): Promise<EnqueueOutcome> {
  const { id, request } = splitBody(body);
  const checked = validateRequest(request, { maxJobBytes: client.maxJobBytes });
  if (id !== undefined && (await sameRequestUnder(id, checked, queues))) return { created: false, id, provider: checked.provider };
  const jobId = await client.enqueue(checked, { id });
  // two producers can race past the check above with different requests: the loser hears of it here
  if (id !== undefined) await sameRequestUnder(id, checked, queues);
  return { created: true, id: jobId, provider: checked.provider };
}

function splitBody(body: unknown): { id?: string; request: unknown } {
  const parsed = EnqueueBody.safeParse(body);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
  const { id, ...request } = parsed.data;
  return { id, request };
}

/** True when `id` holds this very request, false when no job has that id; a 409 when it holds another. */
async function sameRequestUnder(id: string, request: GenerationRequest, queues: PartitionedQueues): Promise<boolean> {
  // the job's partition is the one the id names: the client enqueues it there
  const partition = queues.of(id);
  const holders = await partition.providersHolding(id);
  if (holders.length === 0) return false;
  if (holders.some((p) => p !== request.provider)) throw conflict(id, holders);
  const job = await partition.job(request.provider, id);
  // the job may be removed between the two reads (retention): then it no longer conflicts
  if (!job) return false;
  if (!isDeepStrictEqual(normalised(job.data), normalised(request))) throw conflict(id, [request.provider]);
  return true;
}

/**
 * The request as the schema reads it, without kiln's state and as JSON: key order and undefined
 * fields do not matter. Stored data the schema refuses (a raw producer's) stands for itself
 * without its content, which may nest deeper than isDeepStrictEqual can walk: it equals no
 * checked request.
 */
function normalised(data: unknown): unknown {
  if (!isRecord(data)) return { unreadable: true };
  const { kiln: _state, ...request } = data;
  const parsed = GenerationRequest.safeParse(request);
  return parsed.success ? JSON.parse(JSON.stringify(parsed.data)) : { unreadable: true };
}

function conflict(id: string, providers: readonly string[]): HttpError {
  const where = providers.map((p) => `generate-${p}`).join(" and ");
  return new HttpError(
    409,
    "conflict",
    `id ${id} is already used by a different request (on ${where}); choose another id, or send the same request again to get the existing job`,
  );
}
