import { isDeepStrictEqual } from "node:util";
import { GenerationRequest } from "../contract/generation-request.js";
import { IdConflictError } from "../contract/id-conflict-error.js";
import { tenantOf } from "../contract/tenant.js";
import type { PartitionedQueues } from "../queue/partitioned-queues.js";
import { isRecord } from "../util/describe-value.js";

/**
 * True when `id` holds this very request, false when no job has that id; an `IdConflictError`
 * when it holds another (silently returning someone else's job would hide a producer bug).
 */
export async function sameRequestUnder(id: string, request: GenerationRequest, queues: PartitionedQueues): Promise<boolean> {
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
  // no tenant is the default tenant: the same request, whether a bound token filled it in or not
  return parsed.success ? JSON.parse(JSON.stringify({ ...parsed.data, tenant: tenantOf(parsed.data) })) : { unreadable: true };
}

function conflict(id: string, providers: readonly string[]): IdConflictError {
  const where = providers.map((p) => `generate-${p}`).join(" and ");
  return new IdConflictError(
    `id ${id} is already used by a different request (on ${where}); choose another id, or send the same request again to get the existing job`,
  );
}
