import { z } from "zod";
import { prefixProblem, workerPartitions } from "../queue/partitions.js";
import { parseClusterNodes, redisTargetOf, type RedisTarget } from "../queue/redis.js";
import { configError } from "./errors.js";
import { Flag, Secret, Url, WholeNumber } from "./values.js";

/** Where kiln's queues live: the Redis (or Redis Cluster), the key prefix and the partitions. */
export const RedisConfig = z.object({
  /** The one Redis server: `redis://` or `rediss://`. Default `redis://127.0.0.1:6379`; ignored when `REDIS_CLUSTER_NODES` is set. */
  REDIS_URL: Url.refine((u) => /^rediss?:\/\//.test(u), { message: "expected redis:// or rediss://" }).default("redis://127.0.0.1:6379"),
  /** Redis Cluster: the seed nodes, `host:port,host:port,...`. Unset by default (one server, `REDIS_URL`). */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((spec, ctx) => {
      try {
        const nodes = parseClusterNodes(spec);
        if (nodes.length === 0) ctx.addIssue({ code: "custom", message: "expected host:port,host:port,..." });
        return nodes;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `${(err as Error).message}: expected host:port,host:port,...` });
        return z.NEVER;
      }
    })
    .optional(),
  /** The Redis password (the cluster's nodes, or the server's when `REDIS_URL` names none). Unset by default. */
  REDIS_PASSWORD: Secret.optional(),
  /** TLS to the cluster's nodes. Default false. */
  REDIS_TLS: Flag.default(false),
  /** The prefix of every key: must hold a `{...}` hash tag so a partition's keys share a cluster slot. Default `{kiln}`. */
  KILN_PREFIX: z
    .string()
    .min(1)
    .superRefine((v, ctx) => {
      const problem = prefixProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .default("{kiln}"),
  /** How many partitions (queue sets, one hash tag each) jobs are spread over: 1 to 1024. Default 1. */
  KILN_PARTITIONS: WholeNumber(1, 1024).default(1),
  /** The partitions this worker consumes, e.g. `0,2` (comma-separated indexes). Default all of `KILN_PARTITIONS`. */
  KILN_WORKER_PARTITIONS: z.string().optional(),
});
export type RedisConfig = z.infer<typeof RedisConfig>;

/** The partitions a worker consumes must exist. */
export function checkPartitions<E extends RedisConfig>(env: E): E {
  try {
    workerPartitions(env.KILN_WORKER_PARTITIONS, env.KILN_PARTITIONS);
  } catch (err) {
    throw configError(`${(err as Error).message} (KILN_PARTITIONS=${env.KILN_PARTITIONS})`);
  }
  return env;
}

/**
 * Where a producer finds kiln's queues: the Redis (or Redis Cluster) the environment names, the
 * prefix and the partitions (what `GenerationClient` takes; the CLI and HTTP server use it).
 */
export function queueLocationOf(env: RedisConfig): { target: RedisTarget; prefix: string; partitions: number } {
  return { target: redisTargetOf(env), prefix: env.KILN_PREFIX, partitions: env.KILN_PARTITIONS };
}
