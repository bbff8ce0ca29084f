import { crc32 } from "node:zlib";

/**
 * Partitions spread kiln's queues over the shards of a Redis Cluster. Every key of one BullMQ
 * queue must share a hash slot, which the prefix's hash tag (`{kiln}`) guarantees; partition `i`
 * of `n` appends `-i` inside that tag (`{kiln}` → `{kiln-0}`, `{kiln-1}`, ...), so each partition
 * hashes to a slot of its own and the cluster can place it on any shard.
 *
 * A job's partition is `crc32(jobId) mod n` (CRC-32/IEEE of the id's UTF-8 bytes, as zlib computes
 * it): any language can place a job and find it again. With `n = 1` the prefix is unchanged, so a
 * deployment that turns partitions on later keeps its existing keys in partition 0 only when it
 * starts from one: changing `n` moves where ids hash to (see docs/operations.md).
 */

const HASH_TAG = /\{([^}]+)\}/;

/** Why `prefix` cannot carry kiln's queues on a Redis Cluster, or undefined when it can. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.includes(":")) return "must not contain ':'";
  if (!HASH_TAG.test(prefix))
    return "must contain a non-empty {...} hash tag, so every key of a queue shares one Redis Cluster slot (e.g. {kiln})";
  return undefined;
}

/** The prefix of partition `index` of `count`: `-index` appended inside the hash tag. */
export function partitionPrefix(prefix: string, index: number, count: number): string {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`partition count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`partition ${index} is outside 0..${count - 1}`);
  if (count === 1) return prefix;
  const problem = prefixProblem(prefix);
  if (problem) throw new RangeError(`KILN_PREFIX ${problem}`);
  return prefix.replace(HASH_TAG, (_, tag: string) => `{${tag}-${index}}`);
}

/** Every partition's prefix, in index order. */
export function partitionPrefixes(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => partitionPrefix(prefix, i, count));
}

/** The partition a job id belongs to: `crc32(utf8(id)) mod count`. */
export function partitionOf(jobId: string, count: number): number {
  return count === 1 ? 0 : crc32(Buffer.from(jobId, "utf8")) % count;
}

/** The prefix of the partition that holds `jobId`. */
export function prefixOf(jobId: string, prefix: string, count: number): string {
  return partitionPrefix(prefix, partitionOf(jobId, count), count);
}

/**
 * `KILN_WORKER_PARTITIONS`: a comma-separated list of partition indexes this process consumes,
 * each within `0..count-1`; empty or unset means all of them.
 */
export function workerPartitions(spec: string | undefined, count: number): number[] {
  if (!spec || spec.trim() === "") return Array.from({ length: count }, (_, i) => i);
  const indexes = spec.split(",").map((part) => part.trim());
  const parsed = indexes.map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN));
  const bad = indexes.filter((_, i) => !(parsed[i]! < count));
  if (bad.length > 0)
    throw new RangeError(`KILN_WORKER_PARTITIONS: ${bad.map((b) => JSON.stringify(b)).join(", ")} not a partition of 0..${count - 1}`);
  return [...new Set(parsed)].sort((a, b) => a - b);
}
