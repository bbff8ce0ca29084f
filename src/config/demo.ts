import type { Environment } from "./load.js";
import { loadEnvironment } from "./load.js";
import { processEnvironment } from "./process-env.js";

/**
 * Where `kiln demo` finds Redis in `env`: a cluster named by `REDIS_CLUSTER_NODES` is used as
 * it is; else `REDIS_URL`; neither (undefined both) means the demo starts a redis-server of its own.
 */
export function demoRedisOf(env: NodeJS.ProcessEnv = processEnvironment()): { clusterNodes?: string; redisUrl?: string } {
  const clusterNodes = env.REDIS_CLUSTER_NODES || undefined;
  return clusterNodes ? { clusterNodes } : { redisUrl: env.REDIS_URL || undefined };
}

/**
 * The demo's environment: the operator's `env` with the demo's own defaults (`KILN_PREFIX`
 * `{kiln-demo}`, `LOG_LEVEL` warn) where unset, and `own` (the simulator, its webhook
 * receiver, the archive directory, ...) over both; loaded and checked like any other.
 */
export function demoEnvironment(own: NodeJS.ProcessEnv, env: NodeJS.ProcessEnv = processEnvironment()): Environment {
  return loadEnvironment({ ...env, KILN_PREFIX: env.KILN_PREFIX ?? "{kiln-demo}", LOG_LEVEL: env.LOG_LEVEL ?? "warn", ...own });
}
