import type { Queue } from "bullmq";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import type { RedisConnection } from "../queue/redis.js";
import { comparePositions, encodeCursor, type ListPage, type ListPosition } from "./list-cursor.js";

/** The BullMQ structures (`<prefix>:<queue>:<structure>`) that hold the jobs of each state a listing filters on. */
const STRUCTURES = {
  waiting: ["wait", "paused", "prioritized"],
  prioritized: ["prioritized"],
  active: ["active"],
  delayed: ["delayed"],
  completed: ["completed"],
  failed: ["failed"],
  "waiting-children": ["waiting-children"],
} as const;

/** A state `?state=` accepts: BullMQ's names; `waiting` includes BullMQ's `prioritized` (kiln's new jobs). */
export type ListState = keyof typeof STRUCTURES;
export const LIST_STATES = Object.keys(STRUCTURES) as ListState[];

const LISTS = new Set<string>(["wait", "paused", "active"]);

/** Parses `state` (one state or several, comma-separated); empty means every state. */
export function checkStates(state: string | undefined): ListState[] {
  if (state === undefined || state === "") return [];
  const names = state.split(",").map((s) => s.trim());
  const bad = names.filter((s) => !(LIST_STATES as string[]).includes(s));
  if (bad.length > 0) throw new InvalidRequestError(`state: ${JSON.stringify(bad[0])} is not one of ${LIST_STATES.join(", ")}`);
  return [...new Set(names as ListState[])];
}

/** Whether a job BullMQ reports in `state` (from `getJobState`) is one `states` asks for (none: all). */
export function stateMatches(states: readonly ListState[], state: string): boolean {
  if (state === "unknown") return false;
  if (states.length === 0) return true;
  return states.some((wanted) => wanted === state || (wanted === "waiting" && (state === "prioritized" || state === "paused")));
}

export interface ListOptions<T> {
  /** The states to list (their structures are read); empty: all of them. */
  states: readonly ListState[];
  /** At most this many items. */
  limit: number;
  /** Only items strictly after this position (the previous page's last item). */
  after?: ListPosition;
  /** A cheap test of an id before anything else of its job is read. */
  acceptId?: (id: string) => boolean;
  /** Only jobs with this BullMQ job name (the `batches` queue holds batches and their seals). */
  name?: string;
  /** A test of a job's data, read with its enqueue time: what it drops costs no read of the whole job. */
  acceptData?: (data: unknown) => boolean;
  /** Reads one candidate in the queue its id was found in; undefined drops it (gone, or filtered out). */
  read: (queue: Queue, id: string) => Promise<T | undefined>;
}

interface Candidate {
  queue: Queue;
  position: ListPosition;
}

/** Pipelines stay this short, so other clients' commands interleave with a long listing. */
const CHUNK = 1000;

/**
 * A page of the jobs in `partitions` (each partition's queues share one Redis Cluster slot),
 * newest enqueue first (see `ListPosition`). Every listed state's ids of each partition are read
 * in one MULTI, a snapshot in which no job is between two structures; then each id's enqueue
 * time, so a page costs a read of every id in the listed states, and the items of the page are
 * read (`options.read`) newest first until `limit` of them are kept.
 */
export async function listNewestFirst<T>(
  connection: RedisConnection,
  partitions: ReadonlyArray<readonly Queue[]>,
  options: ListOptions<T>,
): Promise<ListPage<T>> {
  const found = await Promise.all(partitions.map((queues) => candidatesOf(connection, queues, options)));
  const candidates = found.flat().sort((a, b) => comparePositions(a.position, b.position));
  const data: T[] = [];
  let last = -1;
  for (let start = 0; start < candidates.length && data.length < options.limit; start += options.limit) {
    const chunk = candidates.slice(start, start + options.limit);
    const items = await Promise.all(chunk.map((c) => options.read(c.queue, c.position.i)));
    for (const [k, item] of items.entries()) {
      if (item === undefined) continue;
      data.push(item);
      last = start + k;
      if (data.length === options.limit) break;
    }
  }
  const more = data.length === options.limit && last < candidates.length - 1;
  return { data, nextCursor: more ? encodeCursor(candidates[last]!.position) : null };
}

/** The jobs of one partition's `queues` in the listed states, with their positions, after `options.after`. */
async function candidatesOf(connection: RedisConnection, queues: readonly Queue[], options: ListOptions<unknown>): Promise<Candidate[]> {
  // BullMQ's client resolves once the connection is ready: a producer connection queues no command before that
  if (queues[0]) await queues[0].waitUntilReady();
  const structures = [...new Set((options.states.length > 0 ? options.states : LIST_STATES).flatMap((s) => STRUCTURES[s]))];
  const multi = connection.multi();
  for (const queue of queues)
    for (const structure of structures)
      if (LISTS.has(structure)) multi.lrange(queue.keys[structure]!, 0, -1);
      else multi.zrange(queue.keys[structure]!, 0, -1);
  const answers = (await multi.exec()) ?? [];
  const ids: Array<{ queue: Queue; id: string }> = [];
  const seen = new Set<string>();
  answers.forEach(([err, value], k) => {
    if (err) throw err;
    const queue = queues[Math.floor(k / structures.length)]!;
    for (const id of value as string[]) {
      // an id never holds ':' (BullMQ's old wait-list markers did); a job is in one structure, but dedupe anyway
      const key = `${queue.qualifiedName}:${id}`;
      if (id.includes(":") || seen.has(key) || (options.acceptId && !options.acceptId(id))) continue;
      seen.add(key);
      ids.push({ queue, id });
    }
  });
  return positioned(connection, ids, options);
}

/** Each id's enqueue time (a job gone since the snapshot has none and drops out), kept when after `options.after`. */
async function positioned(
  connection: RedisConnection,
  ids: ReadonlyArray<{ queue: Queue; id: string }>,
  options: Pick<ListOptions<unknown>, "after" | "name" | "acceptData">,
): Promise<Candidate[]> {
  const chunks: Array<Array<{ queue: Queue; id: string }>> = [];
  for (let start = 0; start < ids.length; start += CHUNK) chunks.push(ids.slice(start, start + CHUNK));
  // the chunks go out together: each is one round trip's worth, and none waits for the one before
  const found = await Promise.all(chunks.map((chunk) => positionedChunk(connection, chunk, options)));
  return found.flat();
}

async function positionedChunk(
  connection: RedisConnection,
  chunk: ReadonlyArray<{ queue: Queue; id: string }>,
  options: Pick<ListOptions<unknown>, "after" | "name" | "acceptData">,
): Promise<Candidate[]> {
  const fields = options.acceptData ? ["timestamp", "name", "data"] : ["timestamp", "name"];
  const pipeline = connection.pipeline();
  for (const { queue, id } of chunk) pipeline.hmget(queue.toKey(id), ...fields);
  const answers = (await pipeline.exec()) ?? [];
  const out: Candidate[] = [];
  chunk.forEach(({ queue, id }, k) => {
    const [err, value] = answers[k] ?? [];
    if (err) throw err;
    const [timestamp, name, data] = (value ?? []) as Array<string | null>;
    if (timestamp == null || (options.name !== undefined && name !== options.name)) return;
    if (options.acceptData && !options.acceptData(parsed(data))) return;
    const position = { t: Number(timestamp), i: id, q: queue.qualifiedName };
    if (!options.after || comparePositions(position, options.after) > 0) out.push({ queue, position });
  });
  return out;
}

function parsed(json: string | null | undefined): unknown {
  try {
    return JSON.parse(json ?? "null");
  } catch {
    return undefined;
  }
}
