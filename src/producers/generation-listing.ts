import type { Queue } from "bullmq";
import type { PartitionedQueues } from "../queue/partitioned-queues.js";
import type { RedisConnection } from "../queue/redis.js";
import type { GenerationJob } from "../queue/kiln-job.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { PROVIDERS, isProvider } from "../providers/model-registry.js";
import { readBatchStatus, type BatchStatus } from "../batches/batch-status.js";
import { BudgetLedger } from "../billing/budget-ledger.js";
import { checkLimit, decodeCursor, type ListPage } from "./list-cursor.js";
import { checkStates, listNewestFirst, stateMatches } from "./job-lister.js";
import { describeJob, type GenerationStatus } from "./generation-status.js";
import { tenantOfData } from "../contract/tenant.js";

/** What `GenerationClient.list` lists; every field optional, all of them must match. */
export interface GenerationListQuery {
  /** BullMQ states, one or several comma-separated: waiting, prioritized, active, delayed, completed, failed, waiting-children. @defaultValue every state */
  state?: string;
  /** One provider's queue only. @defaultValue every provider */
  provider?: string;
  /** Jobs whose request named this model (as it named it). */
  model?: string;
  /** The jobs of this batch (its children, `data.batch.id`). */
  batch?: string;
  /** One tenant's jobs (`default`: those that named none). @defaultValue every tenant */
  tenant?: string;
  /** 1 to 100. @defaultValue 20 */
  limit?: number | string;
  /** The previous page's `nextCursor`. @defaultValue the newest job first */
  cursor?: string;
}

/** What `GenerationClient.listBatches` lists. */
export interface BatchListQuery {
  /** The batch parent's BullMQ state(s), as for generations (a running batch is `waiting-children`). */
  state?: string;
  /** One tenant's batches (`default`: those that named none). @defaultValue every tenant */
  tenant?: string;
  limit?: number | string;
  cursor?: string;
}

/**
 * Generation jobs of every provider queue in every partition, newest enqueue first. A `batch`
 * narrows the read to the batch's partition and to ids `<batch>.…`, which is where its children
 * are (see `childJobId`).
 */
export function listGenerations(
  connection: RedisConnection,
  queues: PartitionedQueues,
  query: GenerationListQuery,
): Promise<ListPage<GenerationStatus>> {
  const states = checkStates(query.state);
  const limit = checkLimit(query.limit);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.provider !== undefined && !isProvider(query.provider))
    throw new InvalidRequestError(`provider: expected one of ${PROVIDERS.join(", ")}`);
  const providers = query.provider ? [query.provider] : PROVIDERS;
  const filter = { model: query.model, batch: query.batch, tenant: query.tenant };
  const { batch } = filter;
  const partitions = batch === undefined ? queues.all() : [queues.of(batch)];
  const read = async (queue: Queue, id: string): Promise<GenerationStatus | undefined> => {
    // state first, then the job, as `GenerationClient.get` reads them: a finished job then carries its result
    const state = await queue.getJobState(id);
    if (!stateMatches(states, state)) return undefined;
    const job = (await queue.getJob(id)) as GenerationJob | undefined;
    if (!job || !dataMatches(job.data, filter)) return undefined;
    return describeJob(job, queue.name, state);
  };
  return listNewestFirst(
    connection,
    partitions.map((p) => providers.map((provider) => p.generation(provider))),
    {
      states,
      limit,
      after,
      read,
      acceptId: batch === undefined ? undefined : (id) => id.startsWith(`${batch}.`),
      // checked again on the job read: a job removed and re-added under the id since may hold other data
      acceptData: Object.values(filter).every((v) => v === undefined) ? undefined : (data) => dataMatches(data, filter),
    },
  );
}

/** Whether a job's data names `model`, belongs to `batch` and to `tenant` (each when given). */
function dataMatches(data: unknown, filter: { model?: string; batch?: string; tenant?: string }): boolean {
  const d = (data ?? {}) as { model?: unknown; batch?: { id?: unknown } };
  return (
    (filter.model === undefined || d.model === filter.model) &&
    (filter.batch === undefined || d.batch?.id === filter.batch) &&
    (filter.tenant === undefined || tenantOfData(data) === filter.tenant)
  );
}

/** Batches (the parents on every partition's `batches` queue), newest first, each as `GenerationClient.getBatch` reads it. */
export function listBatches(connection: RedisConnection, queues: PartitionedQueues, query: BatchListQuery): Promise<ListPage<BatchStatus>> {
  const states = checkStates(query.state);
  const limit = checkLimit(query.limit);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const all = queues.all();
  const { tenant } = query;
  const read = async (queue: Queue, id: string): Promise<BatchStatus | undefined> => {
    const partition = all.find((p) => p.batches() === queue)!;
    const status = await readBatchStatus(partition.batches(), id, new BudgetLedger(connection, partition.prefix));
    return status && stateMatches(states, status.state) && (tenant === undefined || status.tenant === tenant) ? status : undefined;
  };
  return listNewestFirst(
    connection,
    all.map((p) => [p.batches()]),
    { states, limit, after, read, name: "batch", acceptData: tenant === undefined ? undefined : (data) => tenantOfData(data) === tenant },
  );
}
